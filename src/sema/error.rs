//! Diagnostics of the checker. One constructor per problem; codes are
//! stable API (`slo::<area>::<problem>`), listed in docs/diagnostics.md.

use crate::diag::Diagnostic;
use crate::source::Span;

/// "did you mean `x`?" from the closest candidates by edit distance.
pub(crate) fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate closest to `name` by edit distance, if any is close.
pub(crate) fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Vec<(f64, &str)> = candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(s, c)| *s > 0.8 || strsim::levenshtein(name, c) <= 2.max(name.len() / 4))
        .collect();
    best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    best.first().map(|(_, c)| *c)
}

/// Gives `d` "did you mean `x`?" as its help and, as its fix, its span
/// replaced by `x`, when some candidate `x` is close to `name`; says whether one was.
pub(crate) fn did_you_mean<'a>(d: &mut Diagnostic, name: &str, candidates: impl IntoIterator<Item = &'a str>) -> bool {
    let Some(c) = closest(name, candidates) else { return false };
    d.help = Some(format!("did you mean `{c}`?"));
    d.fixes.push(crate::diag::Fix { title: format!("replace with `{c}`"), edits: vec![(d.span, c.to_string())] });
    true
}

fn with_choices(mut d: Diagnostic, name: &str, candidates: &[&str], what: &str) -> Diagnostic {
    match did_you_mean(&mut d, name, candidates.iter().copied()) {
        true => d,
        false if candidates.is_empty() => d.with_help(format!("no {what} is defined here")),
        false => {
            let mut c: Vec<&str> = candidates.to_vec();
            c.sort();
            c.dedup();
            let list = c.iter().take(12).map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
            d.with_help(format!("known {what}s: {list}"))
        }
    }
}

pub(crate) fn unknown_name(span: Span, name: &str, what: &str, candidates: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        "slo::name::unknown",
        span,
        format!("unknown {what} `{name}`"),
        format!("no {what} is called `{name}`"),
    );
    with_choices(d, name, candidates, what)
}

pub fn unknown_service(span: Span, name: &str, candidates: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::error(
        "slo::name::unknown_service",
        span,
        format!("unknown service `{name}`"),
        "no service is declared with this name",
    );
    match did_you_mean(&mut d, name, candidates.iter().copied()) {
        true => d,
        false => d.with_help(format!("declare it: `service {name} {{ owner = \"…\" }}`")),
    }
}

pub(crate) fn unknown_slo(span: Span, name: &str, candidates: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        "slo::name::unknown_slo",
        span,
        format!("unknown SLO `{name}`"),
        "no SLO has this service.name",
    );
    with_choices(d, name, candidates, "SLO")
}

pub fn duplicate(span: Span, what: &str, name: &str, first: Span) -> Diagnostic {
    Diagnostic::error("slo::name::duplicate", span, format!("{what} `{name}` is defined twice"), "second definition")
        .with_related(first, "first defined here")
        .with_help(format!("rename one of them or remove the duplicate {what}"))
}

pub(crate) fn unknown_module(span: Span, name: &str, candidates: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        "slo::import::unknown_module",
        span,
        format!("there is no stdlib module `std.{name}`"),
        "unknown module",
    );
    let mut d = with_choices(d, name, candidates, "stdlib module");
    // The span covers `std.` too.
    for f in &mut d.fixes {
        for (_, text) in &mut f.edits {
            *text = format!("std.{text}");
        }
    }
    d
}

pub(crate) fn import_not_found(span: Span, path: &str, why: &str) -> Diagnostic {
    Diagnostic::error("slo::import::not_found", span, format!("cannot read imported file `{path}`"), why.to_string())
        .with_help("import paths are relative to the importing file; check the spelling and that the file exists")
}

pub(crate) fn import_escapes(span: Span, path: &str) -> Diagnostic {
    Diagnostic::error("slo::import::escapes_root", span, format!("`{path}` is outside the project root"), "this path leaves the project")
        .with_help("imports may only reach files under the project root (the current directory, or --root); move the file into the project")
}

pub(crate) fn import_cycle(span: Span, cycle: &str) -> Diagnostic {
    Diagnostic::error("slo::import::cycle", span, format!("import cycle: {cycle}"), "this import closes the cycle")
        .with_help("move the shared declarations into a file both can import")
}

pub(crate) fn unknown_import_name(span: Span, name: &str, module: &str, candidates: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        "slo::import::unknown_name",
        span,
        format!("`{module}` has no declaration `{name}`"),
        "not declared in that module",
    );
    with_choices(d, name, candidates, "declaration")
}

pub(crate) fn unknown_field(span: Span, name: &str, context: &str, candidates: &[&str]) -> Diagnostic {
    let d = Diagnostic::error("slo::field::unknown", span, format!("{context} has no field `{name}`"), "unknown field");
    with_choices(d, name, candidates, "field")
}

pub(crate) fn duplicate_field(span: Span, name: &str, first: Span) -> Diagnostic {
    Diagnostic::error("slo::field::duplicate", span, format!("field `{name}` is set twice"), "set again here")
        .with_related(first, "first set here")
        .with_help("keep one of the two")
}

pub(crate) fn missing_field(span: Span, name: &str, context: &str, example: &str) -> Diagnostic {
    let name = if name.contains('`') || name.contains(' ') { name.to_string() } else { format!("`{name}`") };
    Diagnostic::error(
        "slo::field::missing",
        span,
        format!("{context} needs {name}"),
        format!("{name} is missing from this block"),
    )
    .with_help(format!("add `{example}`"))
}

pub(crate) fn misplaced(span: Span, what: &str, context: &str, help: &str) -> Diagnostic {
    Diagnostic::error("slo::field::misplaced", span, format!("{what} cannot appear in {context}"), "not allowed here")
        .with_help(help.to_string())
}

pub fn mismatch(span: Span, expected: &str, found: &str, help: Option<String>) -> Diagnostic {
    let d = Diagnostic::error(
        "slo::type::mismatch",
        span,
        format!("expected {expected}, found {found}"),
        format!("this is {found}"),
    );
    match help {
        Some(h) => d.with_help(h),
        None => d.with_help(format!("write {expected} here")),
    }
}

pub(crate) fn unknown_type(span: Span, name: &str, candidates: &[&str]) -> Diagnostic {
    let d = Diagnostic::error("slo::type::unknown", span, format!("unknown parameter type `{name}`"), "not a type");
    with_choices(d, name, candidates, "type")
}

pub fn out_of_range(code: &'static str, span: Span, message: String, label: &str, help: &str) -> Diagnostic {
    Diagnostic::error(code, span, message, label.to_string()).with_help(help.to_string())
}

/// `rename` is the part of `name` the user would rename (an SLO's own name).
pub(crate) fn name_collision(
    span: Span,
    kind: &str,
    name: &str,
    rename: &str,
    other: &str,
    first: Span,
    clashes: &[String],
) -> Diagnostic {
    Diagnostic::error(
        "slo::name::collision",
        span,
        format!("{kind} `{name}` would be deployed under the same names as {kind} `{other}`"),
        format!("generates the names of `{other}`"),
    )
    .with_related(first, format!("{kind} `{other}` declared here"))
    .with_help(format!(
        "deploying one would overwrite the other: {}. Rename one of them so the two differ in more than \
         letter case and `_`/`-` (e.g. `{rename}_2`)",
        clashes.join("; ")
    ))
}

pub(crate) fn name_too_long(
    span: Span,
    kind: &str,
    name: &str,
    len: usize,
    too_long: &[String],
    max: usize,
) -> Diagnostic {
    Diagnostic::error(
        "slo::name::too_long",
        span,
        format!("{kind} name `{name}` is too long for the names generated from it"),
        format!("{len} characters"),
    )
    .with_help(format!("{}; shorten the {kind} name to at most {max} characters", too_long.join("; ")))
}

pub(crate) fn name_invalid(span: Span, kind: &str, name: &str, problems: &[String]) -> Diagnostic {
    Diagnostic::error(
        "slo::name::invalid",
        span,
        format!("{kind} `{name}` generates names that cannot be used"),
        "used in file and object names",
    )
    .with_help(format!("{}; rename the {kind}", problems.join("; ")))
}
