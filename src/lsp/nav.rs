//! Navigation over the name [`Index`](super::index::Index): go to
//! definition, find references, rename (declarations across files; stdlib
//! declarations are read-only), the outline (document symbols) and folding
//! ranges.

use super::index::{name_of, Role, Target};
use super::project::Analysis;
use super::Fail;
use crate::source::SourceId;
use crate::syntax::ast;
use lsp_server::ErrorCode;
use lsp_types as lt;
use std::collections::HashMap;

/// The source and byte offset of a position in a URI.
pub(crate) fn locate(a: &Analysis, uri: &lt::Url, pos: lt::Position) -> Option<(SourceId, usize)> {
    let id = a.source_of(uri)?;
    Some((id, a.lines(id).offset(a.text(id), pos)))
}

fn target_at(a: &Analysis, uri: &lt::Url, pos: lt::Position) -> Option<(Target, crate::source::Span)> {
    let (id, off) = locate(a, uri, pos)?;
    a.index.at(id, off).map(|o| (o.target.clone(), o.span))
}

pub fn definition(a: &Analysis, uri: &lt::Url, pos: lt::Position) -> Option<lt::GotoDefinitionResponse> {
    let (t, _) = target_at(a, uri, pos)?;
    let span = a.index.definition(&a.loaded.modules, &t)?;
    Some(lt::GotoDefinitionResponse::Scalar(a.location(span)?))
}

pub fn references(a: &Analysis, uri: &lt::Url, pos: lt::Position, include_decl: bool) -> Vec<lt::Location> {
    let Some((t, _)) = target_at(a, uri, pos) else { return vec![] };
    a.index.references(&t).filter(|o| include_decl || o.role != Role::Def).filter_map(|o| a.location(o.span)).collect()
}

/// What a rename at `pos` would rename: the target and the name's range there.
fn renamable(a: &Analysis, uri: &lt::Url, pos: lt::Position) -> Result<(Target, crate::source::Span), Fail> {
    let (t, span) = target_at(a, uri, pos).ok_or((ErrorCode::RequestFailed, "nothing to rename here".to_string()))?;
    if let Target::Module(_) = t {
        return Err((ErrorCode::RequestFailed, "a module is renamed by renaming its file".into()));
    }
    let def = a.index.definition(&a.loaded.modules, &t);
    if def.is_some_and(|d| !a.is_user(d.source)) {
        return Err((ErrorCode::RequestFailed, "stdlib declarations are read-only".into()));
    }
    Ok((t, span))
}

pub fn prepare_rename(a: &Analysis, uri: &lt::Url, pos: lt::Position) -> Option<lt::PrepareRenameResponse> {
    let (_, span) = renamable(a, uri, pos).ok()?;
    Some(lt::PrepareRenameResponse::Range(a.range(span)))
}

/// Whether `s` is an identifier of the language.
pub(crate) fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn rename(a: &Analysis, uri: &lt::Url, pos: lt::Position, new: &str) -> Result<lt::WorkspaceEdit, Fail> {
    let (t, _) = renamable(a, uri, pos)?;
    if !is_ident(new) || super::complete::KEYWORDS.contains(&new) {
        return Err((ErrorCode::InvalidParams, format!("`{new}` is not a name")));
    }
    let old = name_of(&a.loaded.modules, &t).unwrap_or_default();
    let mut changes: HashMap<lt::Url, Vec<lt::TextEdit>> = HashMap::new();
    for o in a.index.references(&t) {
        if o.role == Role::Alias || a.text(o.span.source)[o.span.range()] != old {
            continue;
        }
        if !a.is_user(o.span.source) {
            continue;
        }
        if let Some(l) = a.location(o.span) {
            changes.entry(l.uri).or_default().push(lt::TextEdit { range: l.range, new_text: new.to_string() });
        }
    }
    Ok(lt::WorkspaceEdit { changes: Some(changes), ..Default::default() })
}

#[allow(deprecated)] // `deprecated` is a field every DocumentSymbol must have
fn symbol(
    a: &Analysis,
    name: String,
    detail: Option<String>,
    kind: lt::SymbolKind,
    span: crate::source::Span,
    sel: crate::source::Span,
    children: Vec<lt::DocumentSymbol>,
) -> lt::DocumentSymbol {
    lt::DocumentSymbol {
        name: if name.is_empty() { "?".into() } else { name },
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: a.range(span),
        selection_range: a.range(sel),
        children: (!children.is_empty()).then_some(children),
    }
}

fn block_symbols(a: &Analysis, b: &ast::Block) -> Vec<lt::DocumentSymbol> {
    let mut out = Vec::new();
    for e in &b.entries {
        match e {
            ast::Entry::Field(f) => {
                out.push(symbol(a, f.name.name.clone(), None, lt::SymbolKind::PROPERTY, f.span, f.name.span, vec![]))
            }
            ast::Entry::Sli(s) => out.push(symbol(
                a,
                format!("sli {}", s.kind.name),
                None,
                lt::SymbolKind::STRUCT,
                s.span,
                s.kind.span,
                block_symbols(a, &s.body),
            )),
            ast::Entry::Rule(r) => out.push(symbol(
                a,
                r.name.name.clone(),
                Some(match r.kind {
                    ast::RuleKind::Tier => "tier".into(),
                    ast::RuleKind::Threshold => "threshold".into(),
                }),
                lt::SymbolKind::EVENT,
                r.span,
                r.name.span,
                block_symbols(a, &r.body),
            )),
            ast::Entry::When(w) => {
                let text = a.text(w.span.source).get(w.cond.span.range()).unwrap_or("when").to_string();
                let name = w.name.as_ref().map(|n| n.name.clone()).unwrap_or(format!("when {text}"));
                out.push(symbol(a, name, None, lt::SymbolKind::EVENT, w.span, w.cond.span, vec![]));
            }
            ast::Entry::GoodWhen(c, span) => {
                out.push(symbol(a, "good when".into(), None, lt::SymbolKind::EVENT, *span, c.span, vec![]))
            }
        }
    }
    out
}

pub fn symbols(a: &Analysis, uri: &lt::Url) -> Option<lt::DocumentSymbolResponse> {
    let id = a.source_of(uri)?;
    let m = a.module(id)?;
    let mut out = Vec::new();
    for item in &m.file.items {
        let s = match item {
            ast::Item::Import(i) => {
                let (name, span) = match &i.source {
                    ast::ImportSource::Std(_, span) => (a.text(id)[span.range()].to_string(), *span),
                    ast::ImportSource::File(s) => (s.value.clone(), s.span),
                };
                symbol(a, name, Some("import".into()), lt::SymbolKind::MODULE, i.span, span, vec![])
            }
            ast::Item::Service(s) => symbol(
                a,
                s.name.name.clone(),
                Some("service".into()),
                lt::SymbolKind::NAMESPACE,
                s.span,
                s.name.span,
                block_symbols(a, &s.body),
            ),
            ast::Item::Slo(s) => {
                let children = match &s.body {
                    ast::SloBody::Block(b) => block_symbols(a, b),
                    ast::SloBody::Instance { overrides, .. } => {
                        overrides.as_ref().map(|b| block_symbols(a, b)).unwrap_or_default()
                    }
                };
                symbol(
                    a,
                    format!("{}.{}", s.service.name, s.name.name),
                    Some("slo".into()),
                    lt::SymbolKind::OBJECT,
                    s.span,
                    s.name.span,
                    children,
                )
            }
            ast::Item::Template(t) => symbol(
                a,
                t.name.name.clone(),
                Some("template".into()),
                lt::SymbolKind::FUNCTION,
                t.span,
                t.name.span,
                block_symbols(a, &t.body),
            ),
            ast::Item::Alerts(x) => symbol(
                a,
                x.name.name.clone(),
                Some("alerts".into()),
                lt::SymbolKind::FUNCTION,
                x.span,
                x.name.span,
                block_symbols(a, &x.body),
            ),
            ast::Item::Policy(p) => symbol(
                a,
                p.name.name.clone(),
                Some("policy".into()),
                lt::SymbolKind::INTERFACE,
                p.span,
                p.name.span,
                block_symbols(a, &p.body),
            ),
        };
        out.push(s);
    }
    Some(lt::DocumentSymbolResponse::Nested(out))
}

pub fn folding(a: &Analysis, uri: &lt::Url) -> Option<Vec<lt::FoldingRange>> {
    let id = a.source_of(uri)?;
    let m = a.module(id)?;
    let text = a.text(id);
    let lines = a.lines(id);
    let mut out = Vec::new();
    let mut fold = |start: usize, end: usize, kind: Option<lt::FoldingRangeKind>| {
        let (s, e) = (lines.position(text, start).line, lines.position(text, end).line);
        if e > s {
            out.push(lt::FoldingRange {
                start_line: s,
                end_line: e,
                kind,
                start_character: None,
                end_character: None,
                collapsed_text: None,
            });
        }
    };
    fn blocks<'b>(b: &'b ast::Block, out: &mut Vec<&'b ast::Block>) {
        out.push(b);
        for e in &b.entries {
            if let Some(inner) = e.block() {
                blocks(inner, out);
            }
        }
    }
    let mut bs = Vec::new();
    let mut imports: Option<(usize, usize)> = None;
    for item in &m.file.items {
        match item {
            ast::Item::Import(i) => {
                imports = Some(match imports {
                    Some((s, _)) => (s, i.span.end as usize),
                    None => (i.span.start as usize, i.span.end as usize),
                })
            }
            ast::Item::Service(s) => blocks(&s.body, &mut bs),
            ast::Item::Slo(s) => match &s.body {
                ast::SloBody::Block(b) => blocks(b, &mut bs),
                ast::SloBody::Instance { overrides, .. } => {
                    if let Some(b) = overrides {
                        blocks(b, &mut bs)
                    }
                }
            },
            ast::Item::Template(t) => blocks(&t.body, &mut bs),
            ast::Item::Alerts(x) => blocks(&x.body, &mut bs),
            ast::Item::Policy(p) => blocks(&p.body, &mut bs),
        }
    }
    if let Some((s, e)) = imports {
        fold(s, e, Some(lt::FoldingRangeKind::Imports));
    }
    for b in bs {
        fold(b.span.start as usize, b.span.end as usize, Some(lt::FoldingRangeKind::Region));
    }
    // Runs of comment lines.
    let mut run: Option<(usize, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("//") {
            run = Some((run.map_or(offset, |r| r.0), offset + line.trim_end().len()));
        } else if let Some((s, e)) = run.take() {
            fold(s, e, Some(lt::FoldingRangeKind::Comment));
        }
        offset += line.len();
    }
    if let Some((s, e)) = run {
        fold(s, e, Some(lt::FoldingRangeKind::Comment));
    }
    Some(out)
}
