//! Completion, from the text before the cursor (so it works while the
//! declaration being typed does not parse yet) and the last checked
//! snapshot's namespaces:
//!
//! - at the top level, the declaration keywords;
//! - in a block, the fields that block takes (as the checker lists them,
//!   [`crate::sema::vocabulary`]) and the entries it may hold (`sli …`,
//!   `tier …`, `threshold …`, `when …`);
//! - after `field =`, values for that field: alert or budget policies and
//!   templates in scope, and those the stdlib declares (accepting one adds
//!   its import), severities, budgeting methods, combinations;
//! - inside `name(…)`, the parameters of `name` with their types and defaults;
//! - after `import std.`, the stdlib modules, and in `.{…}` their declarations;
//! - after a number, the units (`%`, `x`, `ms` … `y`, `/s`).

use super::index::params_of;
use super::project::{Analysis, Workspace};
use crate::sema::scope::{self, DeclKind};
use crate::sema::vocabulary as vocab;
use crate::syntax::ast;
use lsp_types as lt;
use std::sync::OnceLock;

pub use crate::syntax::KEYWORDS;

/// Every declaration of the stdlib: (module, name, kind, parameters as text).
fn stdlib_decls() -> &'static [(&'static str, String, DeclKind, String)] {
    static DECLS: OnceLock<Vec<(&'static str, String, DeclKind, String)>> = OnceLock::new();
    DECLS.get_or_init(|| {
        let mut out = Vec::new();
        for (module, text) in crate::stdlib::MODULES {
            let Ok(file) = crate::syntax::parse(crate::source::SourceId(0), text) else { continue };
            for item in &file.items {
                if let Some((n, kind)) = scope::decl_of(item) {
                    out.push((*module, n.name.clone(), kind, params_text(text, params_of(item))));
                }
            }
        }
        out
    })
}

fn params_text(text: &str, ps: &[ast::Param]) -> String {
    let ps: Vec<String> = ps
        .iter()
        .map(|p| match &p.default {
            Some(d) => format!("{}: {} = {}", p.name.name, p.ty.name, text.get(d.span.range()).unwrap_or("…")),
            None => format!("{}: {}", p.name.name, p.ty.name),
        })
        .collect();
    format!("({})", ps.join(", "))
}

fn item(label: &str, kind: lt::CompletionItemKind, detail: Option<String>) -> lt::CompletionItem {
    lt::CompletionItem { label: label.to_string(), kind: Some(kind), detail, ..Default::default() }
}

fn snippet(label: &str, body: &str, detail: &str) -> lt::CompletionItem {
    lt::CompletionItem {
        label: label.to_string(),
        kind: Some(lt::CompletionItemKind::SNIPPET),
        detail: Some(detail.to_string()),
        insert_text: Some(body.to_string()),
        insert_text_format: Some(lt::InsertTextFormat::SNIPPET),
        ..Default::default()
    }
}

/// The block the cursor is in: the header before its innermost unclosed `{`
/// (`slo x for api`, `sli events`, `tier Fast`, `labels =`), or `None` at the top level.
fn enclosing_header(before: &str) -> Option<String> {
    let b = before.as_bytes();
    let mut depth = 0i32;
    let mut i = b.len();
    while i > 0 {
        i -= 1;
        match b[i] {
            b'}' => depth += 1,
            b'{' if depth == 0 => {
                let start = before[..i].rfind(['{', '}', '\n', ';']).map_or(0, |p| p + 1);
                let mut header = before[start..i].trim().to_string();
                // A header split over lines (`slo x for api\n{`): take the previous line.
                if header.is_empty() && start > 0 {
                    let s2 = before[..start - 1].rfind(['{', '}', '\n']).map_or(0, |p| p + 1);
                    header = before[s2..start - 1].trim().to_string();
                }
                return Some(header);
            }
            b'{' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The fields and entries a block with this header takes.
fn block_fields(header: &str) -> Vec<lt::CompletionItem> {
    let words: Vec<&str> = header.split_whitespace().collect();
    let first = words.first().copied().unwrap_or("");
    let field = |n: &str| item(n, lt::CompletionItemKind::FIELD, None);
    let mut out: Vec<lt::CompletionItem> = Vec::new();
    let last = header.chars().last().unwrap_or(' ');
    if matches!(last, '=' | ':' | ',' | '[' | '(') || header.ends_with("of") {
        // A map or a selector's braces: no fields.
        return out;
    }
    match first {
        "service" => out.extend(vocab::SERVICE_FIELDS.iter().map(|f| field(f))),
        "slo" | "template" => {
            out.extend(vocab::SLO_FIELDS.iter().filter(|f| **f != "sli").map(|f| field(f)));
            for (kind, _) in vocab::sli_kinds() {
                let arg = if kind == "timeslices" { " ${1:1m}" } else { "" };
                out.push(snippet(&format!("sli {kind}"), &format!("sli {kind}{arg} {{\n  $0\n}}"), "an SLI block"));
            }
        }
        "sli" => {
            let kind = words.get(1).copied().unwrap_or("");
            if let Some((_, fields)) = vocab::sli_kinds().into_iter().find(|(k, _)| *k == kind) {
                for f in fields {
                    if *f == "good when" {
                        out.push(snippet(
                            "good when",
                            "good when ${1:rate(${2:selector})} >= ${3:100/s}",
                            "a slice condition",
                        ));
                    } else {
                        out.push(field(f));
                    }
                }
            }
        }
        "alerts" => {
            out.extend(vocab::ALERT_POLICY_FIELDS.iter().map(|f| field(f)));
            out.push(snippet(
                "tier",
                "tier ${1:Name} {\n  windows = ${2:1h} / ${3:5m}\n  burn = ${4:14.4x}\n  severity = ${5:page}\n}",
                "a burn-rate tier",
            ));
            out.push(snippet(
                "threshold",
                "threshold ${1:Name} {\n  when ${2:sli(5m)} < ${3:95%}\n  severity = ${4:critical}\n}",
                "a threshold alert",
            ));
        }
        "tier" => out.extend(vocab::TIER_FIELDS.iter().map(|f| field(f))),
        "threshold" => out.extend(vocab::THRESHOLD_FIELDS.iter().filter(|f| **f != "when").map(|f| field(f))),
        "policy" => {
            out.extend(vocab::BUDGET_FIELDS.iter().map(|f| field(f)));
            out.push(snippet(
                "when",
                "when ${1:budget_remaining} < ${2:10%} => ${3:freeze \"deploys\"}",
                "a budget-policy rule",
            ));
        }
        _ => {}
    }
    if first == "threshold" {
        out.push(snippet("when", "when ${1:sli(5m)} < ${2:95%}", "the alert's condition"));
    }
    out
}

/// The identifier characters right before `off`.
fn word_before(before: &str) -> &str {
    let start = before.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |p| p + 1);
    &before[start..]
}

/// Adds `import std.<module>.{name}` to `text` (into an existing brace list of that module, or as a new line).
fn import_edit(a: &Analysis, id: crate::source::SourceId, module: &str, name: &str) -> Option<lt::TextEdit> {
    let text = a.text(id);
    let lines = a.lines(id);
    let head = format!("import std.{module}.{{");
    let mut offset = 0;
    let mut last_import_end = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix(&head) {
            if let Some(close) = rest.find('}') {
                let names: Vec<&str> =
                    rest[..close].split(',').map(|n| n.split_whitespace().next().unwrap_or("")).collect();
                if names.contains(&name) {
                    return None;
                }
                let at = offset + (line.len() - t.len()) + head.len() + close;
                let sep = if rest[..close].trim().is_empty() { "" } else { ", " };
                return Some(lt::TextEdit { range: lines.range(text, at, at), new_text: format!("{sep}{name}") });
            }
        }
        if t.starts_with("import ") {
            last_import_end = Some(offset + line.len());
        }
        offset += line.len();
    }
    let (at, new_text) = match last_import_end {
        Some(e) => (e, format!("import std.{module}.{{{name}}}\n")),
        None => (0, format!("import std.{module}.{{{name}}}\n\n")),
    };
    let new_text = if at > 0 && !text[..at].ends_with('\n') { format!("\n{new_text}") } else { new_text };
    Some(lt::TextEdit { range: lines.range(text, at, at), new_text })
}

/// Declarations usable in value position: those in scope, then the stdlib's (with their import).
fn names(a: &Analysis, id: crate::source::SourceId, want: Option<DeclKind>) -> Vec<lt::CompletionItem> {
    let mut out = Vec::new();
    let mi = a.module_of.get(&id).copied();
    let scope = mi.and_then(|m| a.scopes.get(m));
    let mut have = std::collections::HashSet::new();
    let kind_of = |k: DeclKind| match k {
        DeclKind::Template => lt::CompletionItemKind::CLASS,
        DeclKind::Alerts => lt::CompletionItemKind::FUNCTION,
        DeclKind::Policy => lt::CompletionItemKind::INTERFACE,
    };
    if let Some(scope) = scope {
        for (n, r) in &scope.names {
            if want.is_some_and(|w| w != r.kind) {
                continue;
            }
            have.insert(n.clone());
            let m = &a.loaded.modules[r.module];
            let params =
                m.file.items.get(r.item).map(|it| params_text(a.text(m.source), params_of(it))).unwrap_or_default();
            let mut it = item(n, kind_of(r.kind), Some(format!("{}{params}", r.kind.describe())));
            it.insert_text = Some(format!("{n}($0)"));
            it.insert_text_format = Some(lt::InsertTextFormat::SNIPPET);
            out.push(it);
        }
        for alias in scope.aliases.keys() {
            out.push(item(alias, lt::CompletionItemKind::MODULE, Some("imported module".into())));
        }
    }
    for (module, n, k, params) in stdlib_decls() {
        if want.is_some_and(|w| w != *k) || have.contains(n) {
            continue;
        }
        let mut it = item(n, kind_of(*k), Some(format!("{} from std.{module}{params}", k.describe())));
        it.insert_text = Some(format!("{n}($0)"));
        it.insert_text_format = Some(lt::InsertTextFormat::SNIPPET);
        it.label_details =
            Some(lt::CompletionItemLabelDetails { detail: None, description: Some(format!("import std.{module}")) });
        it.additional_text_edits = import_edit(a, id, module, n).map(|e| vec![e]);
        it.sort_text = Some(format!("~{n}"));
        out.push(it);
    }
    out
}

/// The parameters of the call whose parentheses hold the cursor, if any.
fn call_params(a: &Analysis, id: crate::source::SourceId, before: &str) -> Option<Vec<lt::CompletionItem>> {
    let b = before.as_bytes();
    let mut depth = 0i32;
    let mut open = None;
    for i in (0..b.len()).rev() {
        match b[i] {
            b')' => depth += 1,
            b'(' if depth == 0 => {
                open = Some(i);
                break;
            }
            b'(' => depth -= 1,
            b'{' | b'}' | b'\n' if depth == 0 => return None,
            _ => {}
        }
    }
    let i = open?;
    let callee = word_before(&before[..i]);
    // Only where an argument name may start: after `(` or `,`.
    let tail = before[i + 1..].trim_end();
    let tail = tail.strip_suffix(word_before(tail)).unwrap_or(tail).trim_end();
    if !(tail.is_empty() || tail.ends_with(',')) {
        return None;
    }
    let scope = a.scopes.get(*a.module_of.get(&id)?)?;
    let (m, it) = match scope.names.get(callee) {
        Some(r) => {
            let m = &a.loaded.modules[r.module];
            (m, m.file.items.get(r.item)?)
        }
        None => return None,
    };
    let text = a.text(m.source);
    Some(
        params_of(it)
            .iter()
            .map(|p| {
                let default = p.default.as_ref().map(|d| format!(" = {}", text.get(d.span.range()).unwrap_or("…")));
                let mut c = item(
                    &p.name.name,
                    lt::CompletionItemKind::VARIABLE,
                    Some(format!("{}{}", p.ty.name, default.unwrap_or_default())),
                );
                c.insert_text = Some(format!("{}: ", p.name.name));
                c
            })
            .collect(),
    )
}

const UNITS: &[(&str, &str)] = &[
    ("%", "percent"),
    ("x", "burn factor"),
    ("ms", "milliseconds"),
    ("s", "seconds"),
    ("m", "minutes"),
    ("h", "hours"),
    ("d", "days"),
    ("w", "weeks"),
    ("y", "years"),
    ("/s", "per second"),
    ("/min", "per minute"),
    ("/h", "per hour"),
];

pub fn complete(a: &Analysis, _ws: &Workspace, uri: &lt::Url, pos: lt::Position) -> lt::CompletionResponse {
    let items = complete_items(a, uri, pos).unwrap_or_default();
    lt::CompletionResponse::List(lt::CompletionList { is_incomplete: false, items })
}

fn complete_items(a: &Analysis, uri: &lt::Url, pos: lt::Position) -> Option<Vec<lt::CompletionItem>> {
    let id = a.source_of(uri)?;
    let text = a.text(id);
    let off = a.lines(id).offset(text, pos);
    let before = &text[..off];
    let line = &before[before.rfind('\n').map_or(0, |p| p + 1)..];
    let lt_line = line.trim_start();
    if lt_line.starts_with("//") {
        return Some(vec![]);
    }
    // Imports.
    if let Some(rest) = lt_line.strip_prefix("import std.") {
        if let Some((module, names)) = rest.split_once(".{") {
            let taken: Vec<&str> = names.split(',').map(str::trim).collect();
            return Some(
                stdlib_decls()
                    .iter()
                    .filter(|(m, n, _, _)| *m == module && !taken.contains(&n.as_str()))
                    .map(|(_, n, k, p)| item(n, lt::CompletionItemKind::FUNCTION, Some(format!("{}{p}", k.describe()))))
                    .collect(),
            );
        }
        if !rest.contains(['.', ' ']) {
            return Some(
                crate::stdlib::MODULES
                    .iter()
                    .map(|(m, _)| item(m, lt::CompletionItemKind::MODULE, Some(format!("std.{m}"))))
                    .collect(),
            );
        }
        return Some(vec![]);
    }
    // Units right after a number (`99` → `99%`, `28` → `28d`), the number kept.
    let word = word_before(before);
    let num_end = before.len() - word.len();
    let unit_part = before.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%' || c == '/');
    let num_part = unit_part.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let number = &unit_part[num_part.len()..];
    if number.starts_with(|c: char| c.is_ascii_digit())
        && !num_part.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '"')
    {
        return Some(
            UNITS
                .iter()
                .map(|(u, d)| {
                    let mut it = item(u, lt::CompletionItemKind::UNIT, Some(d.to_string()));
                    it.insert_text = Some(format!("{number}{u}"));
                    it.filter_text = Some(format!("{number}{u}"));
                    it
                })
                .collect(),
        );
    }
    // A parameter's type: `template t(job: ` (at the top level, in the declaration's parentheses).
    if enclosing_header(before).is_none()
        && before[..num_end].trim_end().ends_with(':')
        && lt_line.split_whitespace().next().is_some_and(|w| ["template", "alerts", "policy"].contains(&w))
    {
        return Some(
            vocab::param_types().into_iter().map(|t| item(t, lt::CompletionItemKind::TYPE_PARAMETER, None)).collect(),
        );
    }
    // `sli ` → the kinds.
    if let Some(rest) = lt_line.strip_prefix("sli ") {
        if !rest.contains(['{', ' ']) {
            return Some(
                vocab::sli_kinds()
                    .into_iter()
                    .map(|(k, fields)| {
                        let arg = if k == "timeslices" { " ${1:1m}" } else { "" };
                        let mut it = snippet(k, &format!("{k}{arg} {{\n  $0\n}}"), &fields.join(", "));
                        it.kind = Some(lt::CompletionItemKind::ENUM_MEMBER);
                        it
                    })
                    .collect(),
            );
        }
    }
    if let Some(params) = call_params(a, id, before) {
        return Some(params);
    }
    // `slo x for ` → services; `slo x for svc = ` → templates.
    if lt_line.starts_with("slo ") && enclosing_header(before).is_none() {
        let words: Vec<&str> = lt_line.split_whitespace().collect();
        if lt_line.trim_end().ends_with('=') || (words.len() >= 5 && words[4] == "=") {
            return Some(names(a, id, Some(DeclKind::Template)));
        }
        if words.get(2) == Some(&"for") && words.len() <= 4 {
            return Some(
                a.program
                    .services
                    .iter()
                    .map(|s| item(&s.name, lt::CompletionItemKind::MODULE, s.owner.clone()))
                    .collect(),
            );
        }
    }
    // A field's value.
    let line_no_word = &line[..line.len() - word.len()];
    if let Some((field, value)) = line_no_word.split_once('=') {
        let field = field.trim();
        if value.trim().is_empty() || value.trim_end().ends_with([',', '[']) {
            let list = |xs: &[&str], kind| xs.iter().map(|x| item(x, kind, None)).collect::<Vec<_>>();
            return Some(match field {
                "alerts" => names(a, id, Some(DeclKind::Alerts)),
                "policy" => names(a, id, Some(DeclKind::Policy)),
                "severity" => list(&crate::ir::SEVERITIES, lt::CompletionItemKind::ENUM_MEMBER),
                "budgeting" => vec![
                    item("occurrences", lt::CompletionItemKind::ENUM_MEMBER, None),
                    snippet("timeslices", "timeslices(${1:1m}, ${2:95%})", "slice length, slice target"),
                    snippet("ratio_timeslices", "ratio_timeslices(${1:5m})", "slice length"),
                ],
                "combine" => vec![
                    item("serial", lt::CompletionItemKind::ENUM_MEMBER, None),
                    item("weighted", lt::CompletionItemKind::ENUM_MEMBER, None),
                    snippet("k_of_n", "k_of_n(${1:2})", "at least k of the components"),
                ],
                "objective" => vec![
                    snippet("99.9% over 28d", "${1:99.9%} over ${2:28d}", "a rolling objective"),
                    snippet(
                        "over calendar month",
                        "${1:99.9%} over calendar ${2:month} in \"${3:UTC}\"",
                        "a calendar objective",
                    ),
                ],
                "of" => a
                    .program
                    .slos
                    .iter()
                    .map(|s| item(&format!("{}.{}", s.service, s.name), lt::CompletionItemKind::REFERENCE, None))
                    .collect(),
                _ => names(a, id, None),
            });
        }
        return Some(vec![]);
    }
    match enclosing_header(before) {
        None => Some(
            ["import", "service", "slo", "template", "alerts", "policy"]
                .iter()
                .map(|k| item(k, lt::CompletionItemKind::KEYWORD, None))
                .collect(),
        ),
        Some(h) => Some(block_fields(&h)),
    }
}
