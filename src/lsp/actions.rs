//! Edits the server proposes: formatting (exactly `slo fmt`, on the
//! buffer's unsaved text) and code actions, one quick fix for each fix a
//! diagnostic carries ([`crate::diag::Fix`]: did-you-mean names, a missing
//! stdlib import, `0.999` → `99.9%`).

use super::project::{Analysis, Workspace};
use super::text::LineIndex;
use lsp_types as lt;
use std::collections::HashMap;

/// The whole-document edit `slo fmt` would make; none when the text is
/// formatted already, does not parse, or is not known.
pub fn format(ws: &Workspace, uri: &lt::Url) -> Vec<lt::TextEdit> {
    let Some(path) = Workspace::path_of(uri) else { return vec![] };
    let text = match ws.open.get(&path) {
        Some(d) => d.text.clone(),
        None => match crate::input::read(&path, crate::input::MAX_FILE_BYTES).map(String::from_utf8) {
            Ok(Ok(t)) => t,
            _ => return vec![],
        },
    };
    let Ok(formatted) = crate::fmt::format_source(&text) else { return vec![] };
    if formatted == text {
        return vec![];
    }
    let lines = LineIndex::new(&text);
    vec![lt::TextEdit { range: lines.range(&text, 0, text.len()), new_text: formatted }]
}

/// Quick fixes for the diagnostics that overlap `range`.
pub fn code_actions(a: &Analysis, uri: &lt::Url, range: lt::Range) -> Vec<lt::CodeActionOrCommand> {
    let Some(id) = a.source_of(uri) else { return vec![] };
    let (text, lines) = (a.text(id), a.lines(id));
    let (from, to) = (lines.offset(text, range.start), lines.offset(text, range.end));
    let mut out = Vec::new();
    for d in a.diags.iter() {
        if d.span.source != id || (d.span.end as usize) < from || (d.span.start as usize) > to {
            continue;
        }
        for fix in &d.fixes {
            let mut changes: HashMap<lt::Url, Vec<lt::TextEdit>> = HashMap::new();
            for (span, new_text) in &fix.edits {
                if let Some(l) = a.location(*span) {
                    changes.entry(l.uri).or_default().push(lt::TextEdit { range: l.range, new_text: new_text.clone() });
                }
            }
            if changes.is_empty() {
                continue;
            }
            out.push(lt::CodeActionOrCommand::CodeAction(lt::CodeAction {
                title: fix.title.clone(),
                kind: Some(lt::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![super::to_lsp(a, d)]),
                edit: Some(lt::WorkspaceEdit { changes: Some(changes), ..Default::default() }),
                is_preferred: Some(d.fixes.len() == 1),
                ..Default::default()
            }));
        }
    }
    out
}
