//! Units on the ground floor: durations, ratios, burn factors, timestamps
//! and byte sizes, with the one way each is read and printed.
//!
//! Every stage uses these — the checker reads duration literals through
//! [`duration_ms`], the backends print windows and percents, the backtester
//! and the data tools print times and sizes — so nothing above the checker
//! imports the checker to format a number. This module depends on nothing
//! in the crate.

use std::fmt;
use std::str::FromStr;

/// Why a duration does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Not digits followed by a unit (`ms s m h d w y`), repeated.
    Malformed,
    /// More milliseconds than a u64 holds.
    Overflow,
}

/// Parses PromQL-style duration text (`1h30m`, `500ms`, `28d`, `1w`, `1y`)
/// to milliseconds. Every number needs its unit.
pub fn duration_ms(text: &str) -> Result<u64, DurationError> {
    let b = text.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return Err(DurationError::Malformed);
    }
    let mut total: u64 = 0;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let (unit, len) = if b[i..].starts_with(b"ms") {
            (1, 2)
        } else {
            let unit = match b[i] {
                b's' => 1_000,
                b'm' => 60_000,
                b'h' => 3_600_000,
                b'd' => 86_400_000,
                b'w' => 7 * 86_400_000,
                b'y' => 365 * 86_400_000,
                _ => return Err(DurationError::Malformed),
            };
            (unit, 1)
        };
        if start == i {
            return Err(DurationError::Malformed);
        }
        let n: u64 = text[start..i].parse().map_err(|_| DurationError::Overflow)?;
        total = n.checked_mul(unit).and_then(|v| v.checked_add(total)).ok_or(DurationError::Overflow)?;
        i += len;
        start = i;
    }
    if start != b.len() {
        // Trailing digits without a unit.
        return Err(DurationError::Malformed);
    }
    Ok(total)
}

/// A span of time in milliseconds, printed the way a user writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub u64);

impl Duration {
    pub const fn from_ms(ms: u64) -> Duration {
        Duration(ms)
    }
    pub const fn ms(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Duration {
    /// `1h30m`, `28d`, `500ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, n) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
            if rest >= n {
                write!(f, "{}{unit}", rest / n)?;
                rest %= n;
            }
        }
        Ok(())
    }
}

/// Serialized as written (`5m`), as rule files and JSON carry durations.
impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl std::ops::Mul<u64> for Duration {
    type Output = Duration;
    fn mul(self, n: u64) -> Duration {
        Duration(self.0 * n)
    }
}

/// Serialises a duration as its milliseconds (the IR's JSON dump keeps
/// numbers: `slo debug ir` prints `"long_ms": 3600000`).
pub(crate) fn serialize_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.0)
}

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Duration, DurationError> {
        duration_ms(s).map(Duration)
    }
}

/// A duration from the command line (`1m`, `30s`), in milliseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    duration_ms(text).ok()
}

/// A duration as a user writes it: `1h30m`, `28d`, `500ms`.
pub fn fmt_duration(ms: u64) -> String {
    Duration(ms).to_string()
}

/// A span between two sample times, for data reports: `1h2m3.5s`
/// (fractional seconds, never `ms`); `0s` for none or a negative span.
pub fn fmt_span(ms: i64) -> String {
    if ms <= 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, len) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)] {
        if rest >= len {
            out.push_str(&format!("{}{unit}", rest / len));
            rest %= len;
        }
    }
    if rest > 0 || out.is_empty() {
        if rest % 1000 == 0 {
            out.push_str(&format!("{}s", rest / 1000));
        } else {
            out.push_str(&format!("{}s", rest as f64 / 1000.0));
        }
    }
    out
}

/// A ratio in [0, 1], printed as a percent.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub(crate) struct Ratio(pub f64);

impl fmt::Display for Ratio {
    /// 0.999 → `99.9%`; a ratio just below 1 keeps the digits that make it
    /// so (0.9999999999999 → `99.99999999999%`, never `100%`).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let r = self.0;
        let s = format!("{:.4}", r * 100.0);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "100" && r < 1.0 {
            return f.write_str(&pct_digits(r));
        }
        write!(f, "{s}%")
    }
}

/// A ratio as a percent for messages: 0.999 → "99.9%".
pub fn fmt_pct(r: f64) -> String {
    Ratio(r).to_string()
}

/// A ratio in (0, 1) as a percent with all its shortest round-trip digits:
/// 0.9999999999999 → "99.99999999999%".
fn pct_digits(r: f64) -> String {
    let d = format!("{r:?}");
    let Some(frac) = d.strip_prefix("0.") else { return format!("{}%", r * 100.0) };
    let frac = format!("{frac:0<2}");
    let (int, rest) = frac.split_at(2);
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if rest.is_empty() {
        format!("{int}%")
    } else {
        format!("{int}.{rest}%")
    }
}

/// A percent literal's number (the text before `%`) computed exactly from
/// its decimal digits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentParts {
    /// The ratio: the double nearest number / 100 (99.9 → 0.999).
    pub ratio: f64,
    /// 1 − ratio, the double nearest the exact value, computed from the
    /// digits rather than as `1.0 - ratio`: 99.99999999999 gives 1e-13, and
    /// 99.99999999999999999 gives 1e-19 where its ratio rounds to 1.
    pub complement: f64,
    /// The number against 100, exactly (`Less` for 99.99999999999999999).
    pub vs_100: std::cmp::Ordering,
}

impl PercentParts {
    /// Whether `ratio` (what the rest of the compiler computes with) keeps
    /// the complement to within 1%: false when the number is so close to
    /// 100 that a 64-bit float cannot tell the budget (below about 1e-14).
    pub fn precise(&self) -> bool {
        self.vs_100 != std::cmp::Ordering::Less
            || (self.ratio < 1.0 && ((1.0 - self.ratio) - self.complement).abs() <= self.complement / 100.0)
    }
}

/// A share written as a percent (`99.9%`) or as a ratio (`0.999`), exactly
/// (as [`percent_parts`]); `None` when it is not a number.
pub fn share_parts(text: &str) -> Option<PercentParts> {
    let t = text.trim();
    if let Some(p) = t.strip_suffix('%') {
        return percent_parts(p.trim());
    }
    // A ratio is a percent with the exponent moved by two.
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok().filter(|e| e.abs() < 1 << 40)?),
        None => (t, 0),
    };
    percent_parts(&format!("{mant}e{}", exp + 2))
}

/// Parses `99.9` (also `-1`, `9.99e1`) as a percent, exactly; `None` when
/// it is not a number.
pub fn percent_parts(text: &str) -> Option<PercentParts> {
    use std::cmp::Ordering;
    let (neg, t) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok().filter(|e| e.abs() < 1 << 40)?),
        None => (t, 0),
    };
    // "99.9e-2" parses to the double nearest 0.999, where 99.9 / 100 would not.
    let sign = if neg { "-" } else { "" };
    let ratio: f64 = format!("{sign}{mant}e{}", exp - 2).parse().ok().filter(|r: &f64| r.is_finite())?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // number = digits × 10^exp, digits without leading zeros.
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let exp = exp - frac.len() as i64;
    if neg || digits.is_empty() {
        return Some(PercentParts { ratio, complement: 1.0 - ratio, vs_100: Ordering::Less });
    }
    // Magnitude: number ≥ 10^(len + exp − 1), < 10^(len + exp).
    let magnitude = digits.len() as i64 + exp;
    if magnitude > 3 {
        return Some(PercentParts { ratio, complement: 1.0 - ratio, vs_100: Ordering::Greater });
    }
    if magnitude < -400 {
        // Far below any double's precision around 1.
        return Some(PercentParts { ratio, complement: 1.0, vs_100: Ordering::Less });
    }
    // 100 and the number as integers of the same scale: 100 × 10^-exp vs digits.
    let scale = (-exp).max(0) as usize;
    let hundred = format!("1{}", "0".repeat(2 + scale));
    let number = format!("{digits}{}", "0".repeat(exp.max(0) as usize));
    let vs_100 = number.len().cmp(&hundred.len()).then_with(|| number.as_str().cmp(hundred.as_str()));
    let (big, small, sign) = match vs_100 {
        Ordering::Equal => return Some(PercentParts { ratio, complement: 0.0, vs_100 }),
        Ordering::Less => (hundred.as_bytes(), number.as_bytes(), ""),
        Ordering::Greater => (number.as_bytes(), hundred.as_bytes(), "-"),
    };
    // Schoolbook subtraction, big − small, from the last digit.
    let mut out = Vec::with_capacity(big.len());
    let mut borrow = 0;
    for i in 0..big.len() {
        let a = (big[big.len() - 1 - i] - b'0') as i32;
        let b = if i < small.len() { (small[small.len() - 1 - i] - b'0') as i32 } else { 0 };
        let mut d = a - b - borrow;
        borrow = (d < 0) as i32;
        if d < 0 {
            d += 10;
        }
        out.push(b'0' + d as u8);
    }
    out.reverse();
    let diff = String::from_utf8(out).expect("digits");
    // (100 − number) / 100 = diff × 10^-scale / 100.
    let complement: f64 = format!("{sign}{diff}e-{}", scale + 2).parse().ok()?;
    Some(PercentParts { ratio, complement, vs_100 })
}

/// The code of a percent below 100% whose complement a double cannot hold.
pub const PERCENT_PRECISION: &str = "slo::value::percent_precision";

/// A burn-rate factor (how many times the sustainable rate).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub(crate) struct Factor(pub f64);

impl fmt::Display for Factor {
    /// 14.4 → `14.4x`, 0.93333… → `0.9333x`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let s = format!("{:.4}", self.0);
        write!(f, "{}x", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// A burn factor for messages: 14.4 → "14.4x".
pub fn fmt_factor(f: f64) -> String {
    Factor(f).to_string()
}

/// A float for PromQL, rounded to 12 significant digits so that float
/// noise (1 − 0.999 = 0.0010000000000000009) does not reach the rules;
/// SLO arithmetic never needs more.
pub fn promql_number(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    let rounded: f64 = format!("{x:.11e}").parse().unwrap_or(x);
    if rounded == 1.0 && (x - 1.0).abs() > 1e-15 {
        // An objective like 99.99999999999% (0.9999999999999) must not print
        // as 1; float noise (1 − 1e-16) still does.
        return format!("{x:?}");
    }
    if rounded == rounded.trunc() && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:?}")
    }
}

/// A point in time, milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Timestamp(pub i64);

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC (`2026-01-01T00:00:00Z`); `<n>ms` outside the years
    /// jiff represents.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(t) => write!(f, "{t}"),
            Err(_) => write!(f, "{}ms", self.0),
        }
    }
}

impl FromStr for Timestamp {
    type Err = ();
    /// RFC 3339, or Unix seconds (fractions allowed).
    fn from_str(s: &str) -> Result<Timestamp, ()> {
        if let Ok(x) = s.parse::<f64>() {
            return (x.is_finite() && x.abs() < 1e13).then(|| Timestamp((x * 1000.0).round() as i64)).ok_or(());
        }
        s.parse::<jiff::Timestamp>().map(|t| Timestamp(t.as_millisecond())).map_err(|_| ())
    }
}

/// Millisecond timestamps as RFC 3339.
pub fn fmt_ts(ms: i64) -> String {
    Timestamp(ms).to_string()
}

/// Parses `--from`/`--to`: RFC 3339, or Unix seconds (fractions allowed).
pub fn parse_time(s: &str) -> Option<i64> {
    s.parse::<Timestamp>().ok().map(|t| t.0)
}

/// A number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct ByteSize(pub usize);

impl FromStr for ByteSize {
    type Err = ();
    /// `512M`, `2G`, `1.5GiB`, `1073741824` (binary multiples).
    fn from_str(s: &str) -> Result<ByteSize, ()> {
        let s = s.trim();
        let (num, mul) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
            Some((i, _)) => {
                let unit = s[i..].to_ascii_uppercase();
                let mul: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
                    "" => 1,
                    "K" => 1 << 10,
                    "M" => 1 << 20,
                    "G" => 1 << 30,
                    "T" => 1 << 40,
                    _ => return Err(()),
                };
                (&s[..i], mul)
            }
            None => (s, 1),
        };
        let n: f64 = num.trim().parse().map_err(|_| ())?;
        (n.is_finite() && n > 0.0).then_some(ByteSize((n * mul as f64) as usize)).ok_or(())
    }
}

impl fmt::Display for ByteSize {
    /// `64.0 MiB`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:.1} MiB", self.0 as f64 / (1u64 << 20) as f64)
    }
}

/// Parses a byte size (`512M`, `2G`, `1073741824`).
pub fn parse_size(s: &str) -> Option<usize> {
    s.parse::<ByteSize>().ok().map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_as_written() {
        for (t, ms) in [("1h30m", 5_400_000), ("500ms", 500), ("28d", 2_419_200_000), ("1w", 604_800_000)] {
            assert_eq!(duration_ms(t), Ok(ms), "{t}");
        }
        assert_eq!(Duration(5_400_000).to_string(), "1h30m");
        assert_eq!(Duration(1_500).to_string(), "1s500ms");
        assert_eq!(Duration(0).to_string(), "0s");
        for bad in ["", "5", "1h5", "m", "1x", "-1s", "1.5h"] {
            assert_eq!(duration_ms(bad), Err(DurationError::Malformed), "{bad}");
        }
        assert_eq!(duration_ms("99999999999999999999s"), Err(DurationError::Overflow));
        assert_eq!(duration_ms("600000000y"), Err(DurationError::Overflow));
    }

    #[test]
    fn ratios_never_print_100_below_1() {
        assert_eq!(fmt_pct(0.999), "99.9%");
        assert_eq!(fmt_pct(1.0), "100%");
        assert_eq!(fmt_pct(0.9999999999999), "99.99999999999%");
        assert_eq!(fmt_factor(14.4), "14.4x");
        assert_eq!(fmt_factor(14.0 / 15.0), "0.9333x");
    }

    #[test]
    fn times_and_sizes() {
        assert_eq!(fmt_ts(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_time("1.5"), Some(1500));
        assert_eq!(parse_time("2026-01-01T00:00:00Z"), Some(1_767_225_600_000));
        assert_eq!(parse_time("soon"), None);
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(fmt_span(3_723_500), "1h2m3.5s");
    }
}
