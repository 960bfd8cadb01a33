//! PromQL text: selectors with escaped matchers, aggregations by the SLO's
//! grouping labels, and the `le` matcher that finds a bucket whatever its
//! spelling.

use crate::ir;
use crate::syntax::strings::quote;

/// `metric{a="b", c=~"d"}` with every value escaped for PromQL.
pub fn selector(s: &ir::Selector, extra: &[(&str, &str, String)]) -> String {
    let mut out = s.metric.clone().unwrap_or_default();
    let mut ms: Vec<String> = s
        .matchers
        .iter()
        .map(|m| {
            let op = match m.op {
                ir::MatchOp::Eq => "=",
                ir::MatchOp::Ne => "!=",
                ir::MatchOp::Re => "=~",
                ir::MatchOp::NotRe => "!~",
            };
            format!("{}{}{}", m.label, op, quote(&m.value))
        })
        .collect();
    for (label, op, value) in extra {
        ms.push(format!("{label}{op}{}", quote(value)));
    }
    if !ms.is_empty() || out.is_empty() {
        out.push('{');
        out.push_str(&ms.join(", "));
        out.push('}');
    }
    out
}

/// The same selector for another series of a histogram (`_bucket`, `_count`).
pub(crate) fn with_suffix(s: &ir::Selector, suffix: &str) -> ir::Selector {
    ir::Selector { metric: s.metric.as_ref().map(|m| format!("{m}{suffix}")), matchers: s.matchers.clone() }
}

/// `sum by (route) (inner)`, or `sum(inner)` without grouping.
pub(crate) fn agg(op: &str, by: &[String], inner: &str) -> String {
    if by.is_empty() {
        format!("{op}({inner})")
    } else {
        format!("{op} by ({}) ({inner})", by.join(", "))
    }
}

/// `numerator / total`, where a numerator without series counts as 0
/// events wherever the total has series (a missing error counter counts as
/// no errors; see the interval events).
///
/// Ungrouped (`by` empty), both sums are one series without labels, so
/// `vector(0)` can stand in for the missing numerator: the division drops
/// it wherever the total is missing too, and Prometheus evaluates the total
/// once, not twice as `or 0 * total` made it. Grouped, `0 * total` gives a
/// 0 for each group the total has. The two differ only where the numerator
/// is missing and the total is infinite: `0 * total` is NaN there,
/// `vector(0) / total` is 0 (a NaN total gives NaN either way).
pub(crate) fn ratio_or_zero(numerator: &str, total: &str, by: &[String]) -> String {
    if by.is_empty() {
        format!("({numerator} or vector(0)) / {total}")
    } else {
        format!("({numerator} or 0 * {total}) / {total}")
    }
}

pub use crate::units::promql_number as num;

/// A regex matching every spelling of the bucket boundary `v` as a decimal
/// number: `0.5` also matches `0.50`, `00.5` and `.5`; `1` matches `1.0`.
/// Prometheus 3 normalises `le` to a float's canonical text at ingestion,
/// but older data may hold the exporter's own spelling (docs/semantics.md §4).
pub(crate) fn le_regex(v: f64) -> String {
    let text = format!("{v:?}"); // e.g. "0.5", "1.0", "2.5"
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = frac.trim_end_matches('0');
    let int = int.trim_start_matches('0');
    if frac.is_empty() {
        format!("0*{}(\\.0*)?", if int.is_empty() { "0" } else { int })
    } else {
        format!("0*{int}\\.{}0*", regex_syntax::escape(frac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_spellings() {
        assert_eq!(le_regex(0.5), "0*\\.50*");
        assert_eq!(le_regex(1.0), "0*1(\\.0*)?");
        assert_eq!(le_regex(2.5), "0*2\\.50*");
        assert_eq!(le_regex(0.0), "0*0(\\.0*)?");
        assert_eq!(le_regex(0.25), "0*\\.250*");
    }

    #[test]
    fn numbers_round_trip() {
        for x in [0.001, 0.999, 13.44, 100.0, 2.5e-7] {
            assert_eq!(num(x).parse::<f64>().unwrap(), x);
        }
        assert_eq!(num(14.0), "14");
        assert_eq!(num(1.0 - 0.999), "0.001");
        assert_eq!(num(99.9 / 100.0), "0.999");
        assert_eq!(num(13.44 * (1.0 - 0.999)), "0.01344");
        assert_eq!(num(1.0 / 3.0), "0.333333333333");
        assert_eq!(num(0.9999999999999), "0.9999999999999");
        assert_eq!(num(1.0 - f64::EPSILON), "1");
    }
}
