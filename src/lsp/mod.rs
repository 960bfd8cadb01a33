//! `slo lsp`: a language server over stdio, on `lsp-server` (the
//! synchronous JSON-RPC transport rust-analyzer uses) and `lsp-types`.
//!
//! One thread runs the loop: messages are read in order; a notification
//! that changes a buffer marks the workspace dirty, and the workspace is
//! checked again (the whole project, by `slo check`'s own front end, see
//! [`project`]) once no other message arrives within [`COALESCE`] — so a
//! burst of keystrokes is checked once — or before any request is answered. Diagnostics are
//! published for every file whose set changed.
//!
//! Nothing a client sends can make the server panic: params that do not
//! parse are an `InvalidParams` error, an unknown method `MethodNotFound`,
//! an unknown URI or a position past the end an empty result (positions
//! are clamped by [`text::LineIndex`]). A handler that panics anyway (a
//! bug) is caught, answered with an `InternalError`, and the server goes on.
//!
//! Files: [`text`] positions and edits, [`project`] the workspace and its
//! checked snapshots, [`index`] names and what they denote, [`nav`]
//! definition, references, rename, outline and folding, [`hover`],
//! [`complete`], [`actions`] formatting and code actions, [`tokens`]
//! semantic tokens.

pub mod actions;
pub mod complete;
pub mod hover;
pub mod index;
pub mod nav;
pub mod project;
pub mod text;
pub mod tokens;

use crate::diag::Severity;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lt;
use project::{Analysis, Doc, Workspace};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// What the server needs besides the client: where the stdlib modules are
/// written for the editor to open.
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub stdlib_dir: Option<PathBuf>,
}

/// Serves one client over stdin/stdout until it exits; whether it asked
/// for `shutdown` first (the exit status is 1 otherwise, as LSP specifies).
pub fn run_stdio(config: Config) -> Result<bool, String> {
    let (connection, io_threads) = Connection::stdio();
    let clean = serve(&connection, config)?;
    drop(connection);
    io_threads.join().map_err(|e| format!("LSP transport: {e}"))?;
    Ok(clean)
}

/// The capabilities the server offers.
pub fn capabilities() -> lt::ServerCapabilities {
    lt::ServerCapabilities {
        position_encoding: Some(lt::PositionEncodingKind::UTF16),
        text_document_sync: Some(lt::TextDocumentSyncCapability::Options(lt::TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(lt::TextDocumentSyncKind::INCREMENTAL),
            save: Some(lt::TextDocumentSyncSaveOptions::Supported(true)),
            ..Default::default()
        })),
        hover_provider: Some(lt::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lt::OneOf::Left(true)),
        references_provider: Some(lt::OneOf::Left(true)),
        document_formatting_provider: Some(lt::OneOf::Left(true)),
        document_symbol_provider: Some(lt::OneOf::Left(true)),
        folding_range_provider: Some(lt::FoldingRangeProviderCapability::Simple(true)),
        rename_provider: Some(lt::OneOf::Right(lt::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_action_provider: Some(lt::CodeActionProviderCapability::Options(lt::CodeActionOptions {
            code_action_kinds: Some(vec![lt::CodeActionKind::QUICKFIX]),
            ..Default::default()
        })),
        completion_provider: Some(lt::CompletionOptions {
            trigger_characters: Some([".", "(", "{", "=", ",", " "].map(String::from).to_vec()),
            ..Default::default()
        }),
        semantic_tokens_provider: Some(lt::SemanticTokensServerCapabilities::SemanticTokensOptions(
            lt::SemanticTokensOptions {
                legend: tokens::legend(),
                full: Some(lt::SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: Default::default(),
            },
        )),
        ..Default::default()
    }
}

/// The workspace folder the client names (first folder, else the root URI, else the root path).
fn root_of(params: &Value) -> Option<PathBuf> {
    let p: lt::InitializeParams = serde_json::from_value(params.clone()).ok()?;
    #[allow(deprecated)]
    let uri = p.workspace_folders.as_ref().and_then(|f| f.first()).map(|f| f.uri.clone()).or(p.root_uri);
    #[allow(deprecated)]
    uri.and_then(|u| Workspace::path_of(&u)).or_else(|| p.root_path.map(PathBuf::from))
}

/// Whether the client lets the server register file watchers.
fn watches(params: &Value) -> bool {
    params
        .pointer("/capabilities/workspace/didChangeWatchedFiles/dynamicRegistration")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Runs the initialize handshake and then the loop, until `exit` or the
/// end of the input; whether `shutdown` came first.
pub fn serve(connection: &Connection, config: Config) -> Result<bool, String> {
    let (id, params) = connection.initialize_start().map_err(|e| format!("LSP initialize: {e}"))?;
    let result = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": { "name": "slo", "version": env!("CARGO_PKG_VERSION") },
    });
    connection.initialize_finish(id, result).map_err(|e| format!("LSP initialize: {e}"))?;
    if watches(&params) {
        // Hear about .slo files changed on disk by anything but the editor (git checkout, codegen).
        let reg = lt::Registration {
            id: "slo-watch".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: serde_json::to_value(lt::DidChangeWatchedFilesRegistrationOptions {
                watchers: vec![lt::FileSystemWatcher {
                    glob_pattern: lt::GlobPattern::String("**/*.slo".into()),
                    kind: None,
                }],
            })
            .ok(),
        };
        let params = lt::RegistrationParams { registrations: vec![reg] };
        send(
            connection,
            Request::new(RequestId::from("slo-register-watch".to_string()), "client/registerCapability".into(), params),
        );
    }
    let mut ws = Workspace::new(root_of(&params), config.stdlib_dir);
    ws.scan();
    let mut server = Server { ws, analysis: None, dirty: true, published: HashMap::new(), shutdown: false };
    server.refresh(connection);
    loop {
        // While the workspace is dirty, take whatever else the client has
        // already sent (the transport hands messages over one at a time, so
        // wait a moment for the next one to be read) before checking again.
        let msg = if server.dirty {
            match connection.receiver.recv_timeout(COALESCE) {
                Ok(m) => m,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    server.refresh(connection);
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match connection.receiver.recv() {
                Ok(m) => m,
                Err(_) => break,
            }
        };
        match msg {
            Message::Request(req) => {
                if req.method == "shutdown" {
                    server.shutdown = true;
                    send(connection, Response::new_ok(req.id, ()));
                    continue;
                }
                if server.shutdown {
                    let r = Response::new_err(req.id, ErrorCode::InvalidRequest as i32, "shutting down".into());
                    send(connection, r);
                    continue;
                }
                if server.dirty {
                    server.refresh(connection);
                }
                let id = req.id.clone();
                let resp = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.request(req))) {
                    Ok(r) => r,
                    Err(_) => Response::new_err(id, ErrorCode::InternalError as i32, "internal error".into()),
                };
                send(connection, resp);
            }
            Message::Notification(n) => {
                if n.method == "exit" {
                    return Ok(server.shutdown);
                }
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.notification(n)));
            }
            Message::Response(_) => {}
        }
    }
    Ok(server.shutdown)
}

/// How long a change waits for the next message before the workspace is
/// checked: keystrokes already on the wire are applied first, and checked once.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(2);

fn send(connection: &Connection, m: impl Into<Message>) {
    let _ = connection.sender.send(m.into());
}

struct Server {
    ws: Workspace,
    analysis: Option<Analysis>,
    dirty: bool,
    /// What was last published, per URI.
    published: HashMap<lt::Url, Vec<lt::Diagnostic>>,
    shutdown: bool,
}

/// A handler's failure: an LSP error code and message.
pub(crate) type Fail = (ErrorCode, String);

fn parse<P: serde::de::DeserializeOwned>(v: Value) -> Result<P, Fail> {
    serde_json::from_value(v).map_err(|e| (ErrorCode::InvalidParams, format!("invalid params: {e}")))
}

fn ok<R: serde::Serialize>(r: R) -> Result<Value, Fail> {
    serde_json::to_value(r).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

impl Server {
    /// Checks the workspace again and publishes what changed.
    fn refresh(&mut self, connection: &Connection) {
        self.dirty = false;
        let Ok(Some(a)) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.ws.analyze())) else {
            return;
        };
        let mut now: HashMap<lt::Url, Vec<lt::Diagnostic>> = HashMap::new();
        for id in 0..a.loaded.sources.len() {
            let sid = crate::source::SourceId(id as u32);
            if let (true, Some(uri)) = (a.is_user(sid), a.uri(sid)) {
                now.entry(uri.clone()).or_default();
            }
        }
        for d in a.diags.iter() {
            if let Some(uri) = a.uri(d.span.source) {
                if let Some(v) = now.get_mut(uri) {
                    v.push(to_lsp(&a, d));
                }
            }
        }
        let gone: Vec<lt::Url> = self.published.keys().filter(|u| !now.contains_key(*u)).cloned().collect();
        for u in gone {
            now.insert(u, vec![]);
        }
        let mut next = HashMap::new();
        for (uri, diags) in now {
            let before = self.published.get(&uri).map(Vec::as_slice).unwrap_or(&[]);
            if before != diags.as_slice() {
                let version = Workspace::path_of(&uri).and_then(|p| self.ws.open.get(&p)).map(|d| d.version);
                let params = lt::PublishDiagnosticsParams { uri: uri.clone(), diagnostics: diags.clone(), version };
                send(connection, Notification::new("textDocument/publishDiagnostics".into(), params));
            }
            if !diags.is_empty() {
                next.insert(uri, diags);
            }
        }
        self.published = next;
        self.analysis = Some(a);
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<lt::DidOpenTextDocumentParams>(n.params) else { return };
                let Some(path) = Workspace::path_of(&p.text_document.uri) else { return };
                let d = Doc { text: p.text_document.text, version: p.text_document.version, uri: p.text_document.uri };
                self.ws.open.insert(path, d);
                self.dirty = true;
            }
            "textDocument/didChange" => {
                let Ok(p) = serde_json::from_value::<lt::DidChangeTextDocumentParams>(n.params) else { return };
                let Some(path) = Workspace::path_of(&p.text_document.uri) else { return };
                let Some(doc) = self.ws.open.get_mut(&path) else { return };
                for c in p.content_changes {
                    text::apply_change(&mut doc.text, c.range, &c.text);
                }
                doc.version = p.text_document.version;
                self.dirty = true;
            }
            "textDocument/didClose" => {
                let Ok(p) = serde_json::from_value::<lt::DidCloseTextDocumentParams>(n.params) else { return };
                let Some(path) = Workspace::path_of(&p.text_document.uri) else { return };
                self.ws.open.remove(&path);
                // What is on disk counts again (or nothing, for a buffer never saved).
                self.ws.refresh(&path);
                self.dirty = true;
            }
            "textDocument/didSave" => {
                let Ok(p) = serde_json::from_value::<lt::DidSaveTextDocumentParams>(n.params) else { return };
                if let Some(path) = Workspace::path_of(&p.text_document.uri) {
                    self.ws.refresh(&path);
                    self.dirty = true;
                }
            }
            "workspace/didChangeWatchedFiles" => {
                let Ok(p) = serde_json::from_value::<lt::DidChangeWatchedFilesParams>(n.params) else { return };
                for c in p.changes {
                    let Some(path) = Workspace::path_of(&c.uri) else { continue };
                    if path.extension().is_some_and(|x| x == "slo") {
                        if c.typ == lt::FileChangeType::DELETED {
                            self.ws.forget(&path);
                        } else {
                            self.ws.refresh(&path);
                        }
                    } else {
                        // A directory, perhaps: look at everything again.
                        self.ws.scan();
                    }
                    self.dirty = true;
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, req: Request) -> Response {
        let id: RequestId = req.id.clone();
        match self.handle(&req.method, req.params) {
            Ok(v) => Response { id, result: Some(v), error: None },
            Err((code, msg)) => Response::new_err(id, code as i32, msg),
        }
    }

    fn handle(&mut self, method: &str, params: Value) -> Result<Value, Fail> {
        let a = self.analysis.as_ref();
        match method {
            "textDocument/formatting" => {
                let p: lt::DocumentFormattingParams = parse(params)?;
                ok(actions::format(&self.ws, &p.text_document.uri))
            }
            "textDocument/hover" => {
                let p: lt::HoverParams = parse(params)?;
                let tp = p.text_document_position_params;
                ok(a.and_then(|a| hover::hover(a, &tp.text_document.uri, tp.position)))
            }
            "textDocument/definition" => {
                let p: lt::GotoDefinitionParams = parse(params)?;
                let tp = p.text_document_position_params;
                ok(a.and_then(|a| nav::definition(a, &tp.text_document.uri, tp.position)))
            }
            "textDocument/references" => {
                let p: lt::ReferenceParams = parse(params)?;
                let tp = p.text_document_position;
                let include = p.context.include_declaration;
                ok(a.map(|a| nav::references(a, &tp.text_document.uri, tp.position, include)).unwrap_or_default())
            }
            "textDocument/prepareRename" => {
                let p: lt::TextDocumentPositionParams = parse(params)?;
                ok(a.and_then(|a| nav::prepare_rename(a, &p.text_document.uri, p.position)))
            }
            "textDocument/rename" => {
                let p: lt::RenameParams = parse(params)?;
                let tp = p.text_document_position;
                match a {
                    Some(a) => ok(nav::rename(a, &tp.text_document.uri, tp.position, &p.new_name)?),
                    None => ok(Value::Null),
                }
            }
            "textDocument/documentSymbol" => {
                let p: lt::DocumentSymbolParams = parse(params)?;
                ok(a.and_then(|a| nav::symbols(a, &p.text_document.uri)))
            }
            "textDocument/foldingRange" => {
                let p: lt::FoldingRangeParams = parse(params)?;
                ok(a.and_then(|a| nav::folding(a, &p.text_document.uri)))
            }
            "textDocument/codeAction" => {
                let p: lt::CodeActionParams = parse(params)?;
                ok(a.map(|a| actions::code_actions(a, &p.text_document.uri, p.range)).unwrap_or_default())
            }
            "textDocument/completion" => {
                let p: lt::CompletionParams = parse(params)?;
                let tp = p.text_document_position;
                ok(a.map(|a| complete::complete(a, &self.ws, &tp.text_document.uri, tp.position)))
            }
            "textDocument/semanticTokens/full" => {
                let p: lt::SemanticTokensParams = parse(params)?;
                ok(a.and_then(|a| tokens::full(a, &p.text_document.uri)))
            }
            _ => Err((ErrorCode::MethodNotFound, format!("unhandled method {method}"))),
        }
    }
}

/// An LSP diagnostic: the code, the message with the label and help, the related spans.
fn to_lsp(a: &Analysis, d: &crate::diag::Diagnostic) -> lt::Diagnostic {
    let mut message = d.message.clone();
    if !d.label.is_empty() && d.label != d.message {
        message.push_str(&format!("\n{}", d.label));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let related: Vec<lt::DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|(s, l)| Some(lt::DiagnosticRelatedInformation { location: a.location(*s)?, message: l.clone() }))
        .collect();
    lt::Diagnostic {
        range: a.range(d.span),
        severity: Some(match d.severity {
            Severity::Error => lt::DiagnosticSeverity::ERROR,
            Severity::Warning => lt::DiagnosticSeverity::WARNING,
        }),
        code: Some(lt::NumberOrString::String(d.code.to_string())),
        source: Some("slo".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
