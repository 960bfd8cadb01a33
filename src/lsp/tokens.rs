//! Semantic tokens: a small lexer over the buffer (comments, strings,
//! numbers with their units, keywords, field names) with every name
//! classified by what the [`Index`](super::index::Index) says it denotes
//! (a template or policy, a parameter, a service or module, an SLO).
//! Tokens that span lines are cut per line (clients need not support
//! multi-line tokens).

use super::index::{Role, Target};
use super::project::Analysis;
use lsp_types as lt;

const TYPES: [lt::SemanticTokenType; 10] = [
    lt::SemanticTokenType::KEYWORD,
    lt::SemanticTokenType::STRING,
    lt::SemanticTokenType::NUMBER,
    lt::SemanticTokenType::COMMENT,
    lt::SemanticTokenType::FUNCTION,
    lt::SemanticTokenType::PARAMETER,
    lt::SemanticTokenType::NAMESPACE,
    lt::SemanticTokenType::VARIABLE,
    lt::SemanticTokenType::PROPERTY,
    lt::SemanticTokenType::TYPE,
];
const KEYWORD: u32 = 0;
const STRING: u32 = 1;
const NUMBER: u32 = 2;
const COMMENT: u32 = 3;
const FUNCTION: u32 = 4;
const PARAMETER: u32 = 5;
const NAMESPACE: u32 = 6;
const VARIABLE: u32 = 7;
const PROPERTY: u32 = 8;
const TYPE: u32 = 9;

/// Modifier bits.
const DECLARATION: u32 = 1;
const DEFAULT_LIBRARY: u32 = 2;

pub fn legend() -> lt::SemanticTokensLegend {
    lt::SemanticTokensLegend {
        token_types: TYPES.to_vec(),
        token_modifiers: vec![lt::SemanticTokenModifier::DECLARATION, lt::SemanticTokenModifier::DEFAULT_LIBRARY],
    }
}

pub fn full(a: &Analysis, uri: &lt::Url) -> Option<lt::SemanticTokensResult> {
    let id = a.source_of(uri)?;
    let text = a.text(id);
    let lines = a.lines(id);
    let mut raw: Vec<(usize, usize, u32, u32)> = Vec::new(); // (start, end, type, modifiers)
    let occs: std::collections::HashMap<(usize, usize), &super::index::Occ> =
        a.index.in_source(id).map(|o| ((o.span.start as usize, o.span.end as usize), o)).collect();
    let types = crate::sema::vocabulary::param_types();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            raw.push((start, i, COMMENT, 0));
        } else if c == b'"' || c == b'\'' || c == b'`' {
            i += 1;
            while i < b.len() && b[i] != c {
                if c != b'`' && b[i] == b'\\' {
                    i += 1;
                } else if c != b'`' && b[i] == b'\n' {
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            raw.push((start, i, STRING, 0));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'%') {
                i += 1;
            }
            raw.push((start, i, NUMBER, 0));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            if let Some(o) = occs.get(&(start, i)) {
                let ty = match o.target {
                    Target::Decl { .. } => FUNCTION,
                    Target::Param { .. } => PARAMETER,
                    Target::Service(_) | Target::Module(_) => NAMESPACE,
                    Target::Slo(..) => VARIABLE,
                };
                let mut m = if o.role == Role::Def { DECLARATION } else { 0 };
                if a.index.definition(&a.loaded.modules, &o.target).is_some_and(|d| !a.is_user(d.source)) {
                    m |= DEFAULT_LIBRARY;
                }
                raw.push((start, i, ty, m));
            } else if text[..start].trim_end().ends_with(':') && types.contains(&word) {
                // A parameter's type (`job: string`); a map key's value is never a bare type name.
                raw.push((start, i, TYPE, 0));
            } else if super::complete::KEYWORDS.contains(&word) {
                raw.push((start, i, KEYWORD, 0));
            } else {
                let rest = text[i..].trim_start_matches([' ', '\t']);
                if rest.starts_with('=') && !rest.starts_with("==") && !rest.starts_with("=~") {
                    raw.push((start, i, PROPERTY, 0));
                }
            }
        } else {
            i += 1;
        }
    }
    // Encode, one line at a time.
    let mut data = Vec::new();
    let (mut prev_line, mut prev_char) = (0u32, 0u32);
    for (s, e, ty, m) in raw {
        let mut s = s;
        while s < e {
            let line_end = text[s..e].find('\n').map_or(e, |p| s + p);
            let p = lines.position(text, s);
            let len: usize = text[s..line_end].trim_end_matches('\r').chars().map(char::len_utf16).sum();
            if len > 0 {
                let delta_line = p.line - prev_line;
                let delta_start = if delta_line == 0 { p.character - prev_char } else { p.character };
                data.push(lt::SemanticToken {
                    delta_line,
                    delta_start,
                    length: len as u32,
                    token_type: ty,
                    token_modifiers_bitset: m,
                });
                prev_line = p.line;
                prev_char = p.character;
            }
            s = line_end + 1;
        }
    }
    Some(lt::SemanticTokensResult::Tokens(lt::SemanticTokens { result_id: None, data }))
}
