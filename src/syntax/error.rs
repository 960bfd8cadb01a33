//! Diagnostics of the syntax stage (`slo::syntax::*`).

use crate::diag::Diagnostic;
use crate::source::Span;

pub(crate) const UNEXPECTED: &str = "slo::syntax::unexpected";
pub(crate) const BAD_ESCAPE: &str = "slo::syntax::bad_escape";
pub(crate) const TOO_DEEP: &str = "slo::syntax::too_deep";
pub(crate) const BAD_NUMBER: &str = "slo::syntax::bad_number";
pub(crate) const NOT_UTF8: &str = "slo::syntax::not_utf8";
pub(crate) const TOO_LARGE: &str = "slo::syntax::too_large";

pub fn too_large(span: Span) -> Diagnostic {
    Diagnostic::error(TOO_LARGE, span, "a declaration here is too large to parse", "the declaration starting here")
        .with_help(
            "split very large lists or maps over several declarations (the parser bounds its work per declaration)",
        )
}

pub fn unexpected(span: Span, found: &str, expected: &[String]) -> Diagnostic {
    let exp = match expected.len() {
        0 => String::new(),
        1 => expected[0].clone(),
        _ => {
            let (last, rest) = expected.split_last().unwrap();
            format!("{} or {}", rest.join(", "), last)
        }
    };
    let message = if exp.is_empty() { format!("unexpected {found}") } else { format!("expected {exp}, found {found}") };
    let mut d = Diagnostic::error(UNEXPECTED, span, message, format!("{found} cannot stand here"));
    let help = if found == "end of file" {
        "a block or list is still open: close every `{`, `[` and `(`".to_string()
    } else if expected.iter().any(|e| e.contains("declaration")) {
        "a file holds `import`, `service`, `slo`, `template`, `alerts` and `policy` declarations".to_string()
    } else if exp.is_empty() {
        "remove it, or check the syntax in README.md's language tour".to_string()
    } else {
        format!("write {exp} here")
    };
    d = d.with_help(help);
    d
}

pub(crate) fn bad_escape(span: Span, reason: &str) -> Diagnostic {
    Diagnostic::error(BAD_ESCAPE, span, "invalid escape sequence in a string", reason.to_string()).with_help(
        "valid escapes are \\\" \\' \\\\ \\n \\r \\t \\a \\b \\f \\v \\xHH \\uHHHH \\UHHHHHHHH and octal \\NNN; \
         use a `raw` string for regexes full of backslashes",
    )
}

pub(crate) fn too_deep(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::error(
        TOO_DEEP,
        span,
        format!("nesting deeper than {limit} levels"),
        "this bracket opens one level too many",
    )
    .with_help("flatten the value: no SLO needs lists or maps nested this deep")
}

pub(crate) fn bad_number(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error(BAD_NUMBER, span, format!("`{text}` is not a number slo can represent"), "out of range")
        .with_help("write a finite number or duration of reasonable size")
}

pub fn not_utf8(span: Span) -> Diagnostic {
    Diagnostic::error(NOT_UTF8, span, "the file is not valid UTF-8", "invalid UTF-8 starts here")
        .with_help("save the file as UTF-8")
}
