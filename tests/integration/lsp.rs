//! `slo lsp` over stdio: a real JSON-RPC conversation with the built
//! binary, as an editor holds it — initialize; a multi-file project with
//! errors (CRLF line endings, non-ASCII text before the errors, so every
//! column is counted in UTF-16); code actions; edits that fix the errors
//! (diagnostics cleared); hover, definition, references, completion,
//! formatting, rename; malformed requests; shutdown and exit. Every wait
//! is bounded.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// A language client talking to one `slo lsp` process.
pub struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications received and not yet looked at.
    pub notes: Vec<Value>,
    /// The last diagnostics published per URI.
    pub diags: HashMap<String, Vec<Value>>,
}

impl Client {
    pub fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slo"))
            .arg("lsp")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("slo lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        len = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).expect("the server sends JSON")).is_err() {
                    return;
                }
            }
        });
        Client { child, stdin, rx, next_id: 1, notes: vec![], diags: HashMap::new() }
    }

    pub fn send(&mut self, v: &Value) {
        let body = serde_json::to_string(v).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn recv(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(v) => {
                if v.get("method").and_then(Value::as_str) == Some("textDocument/publishDiagnostics") {
                    let p = &v["params"];
                    self.diags
                        .insert(p["uri"].as_str().unwrap().to_string(), p["diagnostics"].as_array().unwrap().clone());
                }
                Some(v)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    /// Sends a request and waits for its response (the whole message: `result` or `error`).
    pub fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.recv(deadline).unwrap_or_else(|| panic!("no response to {method} in {WAIT:?}"));
            if v.get("id") == Some(&json!(id)) && v.get("method").is_none() {
                return v;
            }
            if v.get("method").is_some() {
                self.notes.push(v);
            }
        }
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let v = self.request_raw(method, params);
        assert!(v.get("error").is_none(), "{method} failed: {v}");
        v["result"].clone()
    }

    /// Waits until the diagnostics last published for `uri` satisfy `pred`.
    pub fn wait_diags(&mut self, uri: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(d) = self.diags.get(uri) {
                if pred(d) {
                    return d.clone();
                }
            }
            match self.recv(deadline) {
                Some(v) => self.notes.push(v),
                None => panic!("diagnostics for {uri} never matched; last: {:?}", self.diags.get(uri)),
            }
        }
    }

    /// `shutdown`, `exit`, and the process's exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let r = self.request_raw("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("slo lsp did not exit after `exit`");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

fn pos(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

const LIB: &str = "// Pages the checkout team.\n\
alerts team_alerts(page_to: string = \"pagerduty\") {\n  \
tier Fast {\n    windows = 1h / 5m\n    burn = 14.4x\n    severity = page\n    route = page_to\n  }\n}\n";

/// CRLF line endings, and emoji (two UTF-16 units, four bytes) before the errors on line 5.
const MAIN: &str = "import \"./lib.slo\".{team_alerts}\r\n\
\r\n\
service api { owner = \"équipe 😀\" runbook = \"https://runbooks.example.com/api\" }\r\n\
\r\n\
slo availability for api {\r\n  \
description = \"😀😀 ok\" objective = 0.999 over 28d\r\n  \
sli events {\r\n    \
bad = http_requests_total{job=\"api\", code=~\"5..\"}\r\n    \
total = http_requests_total{job=\"api\"}\r\n  \
}\r\n  \
alerts = team_alert()\r\n\
}\r\n";

const OTHER: &str = "slo latency for apii {\n  objective = 95% over 7d\n  sli latency {\n    histogram = http_request_duration_seconds{job=\"api\"}\n    below = 500ms\n  }\n}\n";

fn codes(ds: &[Value]) -> Vec<String> {
    ds.iter().map(|d| d["code"].as_str().unwrap_or("").to_string()).collect()
}

fn range(d: &Value) -> (u64, u64, u64, u64) {
    let r = &d["range"];
    let g = |a: &str, b: &str| r[a][b].as_u64().unwrap();
    (g("start", "line"), g("start", "character"), g("end", "line"), g("end", "character"))
}

#[test]
fn a_conversation_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("lib.slo"), LIB).unwrap();
    std::fs::write(root.join("main.slo"), MAIN).unwrap();
    std::fs::write(root.join("other.slo"), OTHER).unwrap();
    let (main, lib, other) = (uri(&root.join("main.slo")), uri(&root.join("lib.slo")), uri(&root.join("other.slo")));

    let mut c = Client::start(root);
    let init = c.request(
        "initialize",
        json!({"processId": null, "rootUri": uri(root),
               "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}},
               "workspaceFolders": [{"uri": uri(root), "name": "project"}]}),
    );
    let caps = &init["capabilities"];
    for cap in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "completionProvider",
        "documentFormattingProvider",
        "renameProvider",
        "codeActionProvider",
        "documentSymbolProvider",
        "semanticTokensProvider",
        "foldingRangeProvider",
    ] {
        assert!(caps.get(cap).is_some_and(|v| !v.is_null()), "{cap} missing from {caps}");
    }
    assert_eq!(caps["textDocumentSync"]["change"], json!(2), "incremental sync");
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": main, "languageId": "slo", "version": 1, "text": MAIN}}),
    );

    // Errors in two files, with codes, help and UTF-16 ranges.
    let ds = c.wait_diags(&main, |d| d.len() >= 2);
    assert_eq!(codes(&ds), ["slo::type::mismatch", "slo::name::unknown"], "{ds:#?}");
    let mismatch = &ds[0];
    assert_eq!(range(mismatch), (5, 38, 5, 43), "`0.999` after two emoji: UTF-16 columns; {mismatch}");
    assert!(
        mismatch["message"].as_str().unwrap().contains("help: percentages carry a `%`: write `99.9%`"),
        "{mismatch}"
    );
    assert_eq!(mismatch["severity"], json!(1));
    let unknown = &ds[1];
    assert_eq!(range(unknown), (10, 11, 10, 21), "{unknown}");
    assert!(unknown["message"].as_str().unwrap().contains("did you mean `team_alerts`?"), "{unknown}");
    let ods = c.wait_diags(&other, |d| !d.is_empty());
    assert_eq!(codes(&ods), ["slo::name::unknown_service"]);
    assert!(ods[0]["message"].as_str().unwrap().contains("did you mean `api`?"));

    // Code actions: one per fix.
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": main}, "range": {"start": pos(5, 40), "end": pos(5, 40)}, "context": {"diagnostics": []}}),
    );
    let actions = actions.as_array().unwrap();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["title"], "write `99.9%`");
    assert_eq!(actions[0]["kind"], "quickfix");
    let edit = &actions[0]["edit"]["changes"][&main][0];
    assert_eq!(edit["newText"], "99.9%");
    assert_eq!(edit["range"], json!({"start": pos(5, 38), "end": pos(5, 43)}));
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": main}, "range": {"start": pos(10, 12), "end": pos(10, 12)}, "context": {"diagnostics": []}}),
    );
    assert_eq!(actions[0]["title"], "replace with `team_alerts`", "{actions}");

    // Fix both errors with incremental edits (the later one first, as editors send them).
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": main, "version": 2}, "contentChanges": [
            {"range": {"start": pos(10, 21), "end": pos(10, 21)}, "text": "s"},
            {"range": {"start": pos(5, 38), "end": pos(5, 43)}, "text": "99.9%"},
        ]}),
    );
    c.wait_diags(&main, |d| d.is_empty());
    // The other file, on disk only, still has its error.
    assert_eq!(codes(&c.diags[&other]), ["slo::name::unknown_service"]);

    // Hover: the alert policy in the SLO, with the tier's resolved figures.
    let h = c.request("textDocument/hover", json!({"textDocument": {"uri": main}, "position": pos(10, 14)}));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("alerts team_alerts(page_to: string = \"pagerduty\")"), "{text}");
    assert!(text.contains("Pages the checkout team."), "{text}");
    assert!(text.contains("burn **14.4x**"), "{text}");
    assert!(text.contains("spends **2.1429%**"), "14.4 × 1h / 28d: {text}");
    assert!(text.contains("at its threshold (1.44% errors) after **1h**"), "{text}");
    // The SLO: its budget in minutes and the series it records.
    let h = c.request("textDocument/hover", json!({"textDocument": {"uri": main}, "position": pos(4, 6)}));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("objective **99.9%** over 28d"), "{text}");
    assert!(text.contains("**40.3 minutes**"), "{text}");
    assert!(text.contains("`slo:sli_error:ratio_rate5m`"), "{text}");
    // A selector: its compiled form.
    let h = c.request("textDocument/hover", json!({"textDocument": {"uri": main}, "position": pos(8, 14)}));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("http_requests_total{job=\"api\"}"), "{text}");

    // Definition across files, and into the stdlib is covered by the unit tests.
    let d = c.request("textDocument/definition", json!({"textDocument": {"uri": main}, "position": pos(10, 14)}));
    assert_eq!(d["uri"], json!(lib));
    assert_eq!(d["range"], json!({"start": pos(1, 7), "end": pos(1, 18)}));
    // References of the service (its declaration, `for api`).
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": main}, "position": pos(2, 9), "context": {"includeDeclaration": true}}),
    );
    let r = r.as_array().unwrap();
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r.iter().any(|l| l["range"]["start"] == pos(4, 21)), "{r:?}");

    // Completion: the template's parameters in its call, the fields of an SLO block.
    let items = c.request("textDocument/completion", json!({"textDocument": {"uri": main}, "position": pos(10, 23)}));
    let labels: Vec<&str> = items["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["page_to"], "{items}");
    let items = c.request("textDocument/completion", json!({"textDocument": {"uri": main}, "position": pos(6, 2)}));
    let labels: Vec<&str> = items["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    for f in ["objective", "budgeting", "alerts", "sli events", "group_by"] {
        assert!(labels.contains(&f), "{f} not in {labels:?}");
    }

    // Formatting is `slo fmt` of the unsaved buffer.
    let current = MAIN.replace("0.999", "99.9%").replace("team_alert()", "team_alerts()");
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": main}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = edits.as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["newText"].as_str().unwrap(), slo::fmt::format_source(&current).unwrap());
    assert_eq!(edits[0]["range"]["end"], pos(12, 0));

    // Rename the alert policy across files: its declaration, the import, the call.
    let prep = c.request("textDocument/prepareRename", json!({"textDocument": {"uri": main}, "position": pos(10, 14)}));
    assert_eq!(prep, json!({"start": pos(10, 11), "end": pos(10, 22)}));
    let w = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": main}, "position": pos(10, 14), "newName": "checkout_alerts"}),
    );
    let changes = &w["changes"];
    assert_eq!(changes[&lib].as_array().unwrap().len(), 1, "{w}");
    assert_eq!(changes[&main].as_array().unwrap().len(), 2, "{w}");
    assert_eq!(changes[&lib][0]["range"], json!({"start": pos(1, 7), "end": pos(1, 18)}));
    let bad = c.request_raw(
        "textDocument/rename",
        json!({"textDocument": {"uri": main}, "position": pos(10, 14), "newName": "not a name"}),
    );
    assert!(bad.get("error").is_some(), "{bad}");

    // Outline, folding, semantic tokens answer.
    let syms = c.request("textDocument/documentSymbol", json!({"textDocument": {"uri": main}}));
    let names: Vec<&str> = syms.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["./lib.slo", "api", "api.availability"]);
    let folds = c.request("textDocument/foldingRange", json!({"textDocument": {"uri": main}}));
    assert!(folds.as_array().unwrap().iter().any(|f| f["startLine"] == 4 && f["endLine"] == 11), "{folds}");
    let toks = c.request("textDocument/semanticTokens/full", json!({"textDocument": {"uri": main}}));
    assert!(toks["data"].as_array().unwrap().len() > 20 * 5);

    // The server asked to watch .slo files; a file written behind the editor's back is checked.
    let reg = c.notes.iter().find(|n| n["method"] == "client/registerCapability").cloned();
    let reg = reg.expect("a registration request for file watching");
    assert_eq!(reg["params"]["registrations"][0]["registerOptions"]["watchers"][0]["globPattern"], "**/*.slo");
    c.send(&json!({"jsonrpc": "2.0", "id": reg["id"], "result": null}));
    std::fs::write(root.join("new.slo"), "service api { owner = \"x\" }\n").unwrap();
    let new = uri(&root.join("new.slo"));
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": new, "type": 1}]}));
    let ds = c.wait_diags(&new, |d| !d.is_empty());
    assert_eq!(codes(&ds), ["slo::name::duplicate"]);
    let related = &ds[0]["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], json!(main), "the first definition, in the other file: {ds:?}");
    assert_eq!(related["location"]["range"]["start"], pos(2, 8));
    std::fs::remove_file(root.join("new.slo")).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": new, "type": 3}]}));
    c.wait_diags(&new, |d| d.is_empty());

    // Nothing a client sends crashes the server.
    let e = c.request_raw("textDocument/hover", json!({"bogus": true}));
    assert_eq!(e["error"]["code"], json!(-32602), "{e}");
    let e = c.request_raw("slo/unknownMethod", json!({}));
    assert_eq!(e["error"]["code"], json!(-32601), "{e}");
    let r =
        c.request("textDocument/hover", json!({"textDocument": {"uri": "file:///nowhere.slo"}, "position": pos(0, 0)}));
    assert_eq!(r, Value::Null);
    let r = c.request("textDocument/hover", json!({"textDocument": {"uri": main}, "position": pos(9999, 9999)}));
    assert_eq!(r, Value::Null);
    let r = c.request("textDocument/definition", json!({"textDocument": {"uri": "untitled:x"}, "position": pos(0, 0)}));
    assert_eq!(r, Value::Null);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": main, "version": 3}, "contentChanges": [
        {"range": {"start": pos(999, 3), "end": pos(0, 0)}, "text": "\u{1F600}"}]}),
    );
    c.notify("textDocument/didChange", json!({"nonsense": 1}));
    let r = c.request("textDocument/completion", json!({"textDocument": {"uri": main}, "position": pos(0, 1)}));
    assert!(r["items"].is_array());

    // Closing the buffer brings back the file on disk (with its errors).
    c.notify("textDocument/didClose", json!({"textDocument": {"uri": main}}));
    c.wait_diags(&main, |d| d.len() == 2);

    let status = c.stop();
    assert!(status.success(), "{status}");
}

/// A project of `services` files, each a service with ten SLOs of five kinds
/// (the mix of bench/check_10k.py), importing the stdlib presets.
pub fn generate(dir: &Path, services: usize) {
    let kinds = [
        ("availability", "objective = 99.9% over 28d\n  sli events {\n    bad = http_requests_total{job=\"S\", code=~\"5..\"}\n    total = http_requests_total{job=\"S\"}\n  }\n  alerts = [google_28d(), slo_violation()]"),
        ("latency", "objective = 95% over 7d\n  sli latency {\n    histogram = http_request_duration_seconds{job=\"S\"}\n    below = 500ms\n  }\n  alerts = latency_violation()"),
        ("throughput", "objective = 99% over 28d\n  sli timeslices 1m {\n    good when rate(http_requests_total{job=\"S\"}) >= 100/s\n  }"),
        ("correctness", "objective = 99.5% over calendar month in \"Europe/Berlin\"\n  sli events {\n    good = jobs_total{job=\"S\", outcome=\"ok\"}\n    total = jobs_total{job=\"S\"}\n  }\n  group_by = [tenant]\n  alerts = google_28d()"),
        ("probe", "objective = 99.9% over 30d\n  sli gauge {\n    series = probe_success{job=\"S\"}\n  }"),
    ];
    for i in 0..services {
        let s = format!("svc{i:04}");
        let mut out = String::from(
            "import std.alerting.{google_28d, slo_violation, latency_violation}\nimport std.budget.{budget_alerts}\n\n",
        );
        out.push_str(&format!(
            "service {s} {{\n  owner = \"team-{}\"\n  runbook = \"https://runbooks.example.com/{s}\"\n  policy = budget_alerts()\n}}\n\n",
            i % 50
        ));
        for j in 0..10 {
            let (name, body) = kinds[j % kinds.len()];
            out.push_str(&format!(
                "slo {name}_{j} for {s} {{\n  description = \"generated\"\n  {}\n}}\n\n",
                body.replace('S', &s)
            ));
        }
        std::fs::write(dir.join(format!("{s}.slo")), out).unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The budget: diagnostics within 100 ms of a keystroke on a
/// project of 1,000 SLOs. Every keystroke must bring its diagnostics (an
/// error, then none); the test prints the median time from `didChange` to
/// `publishDiagnostics` and, as the baseline, the median of an in-process
/// `slo check` of the same project (load + check, what the command does
/// after starting). It runs with the suite (a few seconds); for the figures
/// run `bash bench/lsp_keystroke.sh` (`SLO_BENCH_SERVICES`,
/// `SLO_BENCH_RUNS` change the size and runs).
#[test]
fn keystroke_to_diagnostics_on_1000_slos() {
    let services: usize = std::env::var("SLO_BENCH_SERVICES").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    let runs: usize = std::env::var("SLO_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(21);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    generate(root, services);

    let files = slo::driver::expand(&[root.to_path_buf()]).unwrap();
    let mut check = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let loaded = slo::driver::load(&files, root).unwrap();
        let (program, diags) = slo::driver::check(&loaded);
        check.push(t.elapsed());
        assert_eq!(program.slos.len(), services * 10);
        assert!(!diags.has_errors());
    }

    let mut c = Client::start(root);
    c.request("initialize", json!({"processId": null, "rootUri": uri(root), "capabilities": {}}));
    c.notify("initialized", json!({}));
    let path = root.join(format!("svc{:04}.slo", services / 2));
    let doc = uri(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": doc, "languageId": "slo", "version": 1, "text": text}}),
    );
    // The line of the first objective, and its value's columns.
    let (line, l) = text.lines().enumerate().find(|(_, l)| l.contains("objective = 99.9%")).unwrap();
    let col = l.find("99.9%").unwrap() as u32;
    let line = line as u32;
    let mut lsp = Vec::new();
    let mut value = "99.9%";
    for version in 2..(2 + runs as i64) {
        // Alternately break and fix the objective (one keystroke's worth of text).
        let next = if value == "99.9%" { "0.999" } else { "99.9%" };
        let t = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": doc, "version": version}, "contentChanges": [
                {"range": {"start": pos(line, col), "end": pos(line, col + value.len() as u32)}, "text": next}]}),
        );
        let want_error = next == "0.999";
        c.wait_diags(&doc, |d| d.is_empty() != want_error);
        lsp.push(t.elapsed());
        value = next;
    }
    c.stop();
    let (m_lsp, m_check) = (median(lsp), median(check));
    println!(
        "{} SLOs in {services} files: keystroke → diagnostics median {:.1} ms over {runs} runs; \
         in-process `slo check` median {:.1} ms; ratio {:.2}",
        services * 10,
        m_lsp.as_secs_f64() * 1e3,
        m_check.as_secs_f64() * 1e3,
        m_lsp.as_secs_f64() / m_check.as_secs_f64()
    );
}

/// The stdlib opened read-only, quick fixes that add an import and fix a
/// unit, completion that imports what it offers, hover on a tier in a policy.
#[test]
fn stdlib_imports_and_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let text = "import std.alerting.{google_28d}\n\n\
service api { owner = \"sre\" }\n\n\
slo availability for api {\n  objective = 99.9% over 28d\n  \
sli events {\n    bad = http_requests_total{job=\"api\", code=~\"5..\"}\n    total = http_requests_total{job=\"api\"}\n  }\n  \
alerts = [google_28d(), slo_violation()]\n  labels = { tier: \"1\" }\n}\n\n\
alerts mine {\n  tier Slow {\n    windows = 6h / 30m\n    burn = 14.4\n    severity = ticket\n  }\n}\n";
    std::fs::write(root.join("a.slo"), text).unwrap();
    let a = uri(&root.join("a.slo"));
    let mut c = Client::start(root);
    c.request("initialize", json!({"processId": null, "rootUri": uri(root), "capabilities": {}}));
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": a, "languageId": "slo", "version": 1, "text": text}}),
    );
    let ds = c.wait_diags(&a, |d| d.len() >= 2);
    let cs = codes(&ds);
    assert!(cs.contains(&"slo::name::unknown".to_string()), "{ds:#?}");
    assert!(cs.contains(&"slo::type::mismatch".to_string()), "{ds:#?}");

    // `slo_violation` is in the stdlib: the fix adds it to the import.
    let fix = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": a}, "range": {"start": pos(10, 28), "end": pos(10, 30)}, "context": {"diagnostics": []}}),
    );
    assert_eq!(fix[0]["title"], "add `import std.alerting.{slo_violation}`", "{fix}");
    let e = &fix[0]["edit"]["changes"][&a][0];
    assert_eq!(e["range"], json!({"start": pos(0, 32), "end": pos(0, 32)}));
    assert_eq!(e["newText"], "\nimport std.alerting.{slo_violation}");
    // `burn = 14.4` wants a factor.
    let fix = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": a}, "range": {"start": pos(17, 12), "end": pos(17, 12)}, "context": {"diagnostics": []}}),
    );
    assert_eq!(fix[0]["title"], "write `14.4x`", "{fix}");

    // Definition into the stdlib: a read-only copy of the module.
    let d = c.request("textDocument/definition", json!({"textDocument": {"uri": a}, "position": pos(10, 14)}));
    let target = d["uri"].as_str().unwrap();
    assert!(target.ends_with("/alerting.slo"), "{d}");
    let path = std::path::PathBuf::from(target.strip_prefix("file://").unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), slo::stdlib::module("alerting").unwrap());
    assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
    let line = d["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(slo::stdlib::module("alerting").unwrap().lines().nth(line).unwrap().contains("alerts google_28d"));
    // Renaming a stdlib declaration is refused.
    let r = c.request_raw(
        "textDocument/rename",
        json!({"textDocument": {"uri": a}, "position": pos(10, 14), "newName": "x"}),
    );
    assert!(r.get("error").is_some(), "{r}");

    // `policy = ` (not a declaration that parses yet) offers the stdlib's budget policies, with their import.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 2}, "contentChanges": [
        {"range": {"start": pos(11, 2), "end": pos(11, 24)}, "text": "policy = "}]}),
    );
    let items = c.request("textDocument/completion", json!({"textDocument": {"uri": a}, "position": pos(11, 11)}));
    let items = items["items"].as_array().unwrap();
    let workbook = items.iter().find(|i| i["label"] == "workbook").unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(workbook["additionalTextEdits"][0]["newText"], "import std.budget.{workbook}\n");
    assert!(items.iter().all(|i| i["label"] != "google_28d"), "alert policies are not budget policies");
    // Units after a number.
    let items = c.request("textDocument/completion", json!({"textDocument": {"uri": a}, "position": pos(17, 15)}));
    let labels: Vec<&str> = items["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"x") && labels.contains(&"%"), "{labels:?}");

    // Fix the unit, the import, and use `mine`: the tier's hover says what it costs that SLO.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": a, "version": 3}, "contentChanges": [
        {"range": {"start": pos(17, 15), "end": pos(17, 15)}, "text": "x"},
        {"range": {"start": pos(11, 2), "end": pos(11, 11)}, "text": "labels = { tier: \"1\" }"},
        {"range": {"start": pos(10, 41), "end": pos(10, 41)}, "text": ", mine()"},
        {"range": {"start": pos(0, 31), "end": pos(0, 31)}, "text": ", slo_violation"}]}),
    );
    c.wait_diags(&a, |d| d.is_empty());
    let h = c.request("textDocument/hover", json!({"textDocument": {"uri": a}, "position": pos(15, 8)}));
    let t = h["contents"]["value"].as_str().unwrap();
    assert!(t.contains("**tier** `Slow` of `mine`"), "{t}");
    assert!(t.contains("burn **14.4x**, spends **12.8571%** of the budget over 6h"), "{t}");
    assert!(t.contains("at 100% errors fires after **5m11s**"), "0.0144 × 6h: {t}");
    c.stop();
}

/// Every fix a diagnostic offers (the quick fixes of `slo lsp`) does what
/// it says: applied to its file in `tests/errors/`, the file has fewer
/// diagnostics of that code.
#[test]
fn every_fix_in_the_error_corpus_removes_its_diagnostic() {
    let mut tried = 0;
    for path in super::common::slo_files("tests/errors") {
        let (loaded, _, diags) = super::common::check_file(&path);
        for d in diags.iter().filter(|d| !d.fixes.is_empty()) {
            let src = loaded.sources.get(d.span.source);
            if src.origin != slo::source::Origin::User {
                continue;
            }
            let file = super::common::repo().join(&src.name);
            let count = |ds: &slo::diag::Diagnostics| {
                ds.iter().filter(|x| x.code == d.code && x.span.source == d.span.source).count()
            };
            for fix in &d.fixes {
                let mut text = src.text.clone();
                let mut edits = fix.edits.clone();
                edits.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
                for (s, t) in &edits {
                    assert_eq!(s.source, d.span.source, "{}: a fix in another file", path.display());
                    text.replace_range(s.range(), t);
                }
                let dir = tempfile::tempdir().unwrap();
                // The fixed file in place of the original, with its neighbours (imports).
                let copy = dir.path().join("errors");
                super::common::copy_dir(&super::common::repo().join("tests/errors"), &copy);
                let rel = file.strip_prefix(super::common::repo().join("tests/errors")).unwrap();
                std::fs::write(copy.join(rel), &text).unwrap();
                let fixed = slo::driver::load(
                    &[copy.join(path.strip_prefix(super::common::repo().join("tests/errors")).unwrap())],
                    dir.path(),
                )
                .unwrap();
                let (_, after) = slo::driver::check(&fixed);
                assert!(
                    count(&after) < count(&diags),
                    "{}: `{}` did not remove {} ({} before, {} after):\n{text}",
                    path.display(),
                    fix.title,
                    d.code,
                    count(&diags),
                    count(&after)
                );
                tried += 1;
            }
        }
    }
    assert!(tried >= 20, "only {tried} fixes in the corpus");
}

/// Every method with params of the wrong shape, or none, or positions far
/// past the end: an error or an empty answer, and the server goes on.
#[test]
fn malformed_requests_never_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("a.slo"), "service api { owner = \"é\" }\r\n").unwrap();
    let a = uri(&root.join("a.slo"));
    let mut c = Client::start(root);
    c.request("initialize", json!({"processId": null, "rootUri": uri(root), "capabilities": {}}));
    c.notify("initialized", json!({}));
    let methods = [
        "textDocument/hover",
        "textDocument/definition",
        "textDocument/references",
        "textDocument/completion",
        "textDocument/formatting",
        "textDocument/rename",
        "textDocument/prepareRename",
        "textDocument/codeAction",
        "textDocument/documentSymbol",
        "textDocument/foldingRange",
        "textDocument/semanticTokens/full",
    ];
    let far = json!({"line": 4_000_000_000u64, "character": 4_000_000_000u64});
    let shapes = [
        json!(null),
        json!({}),
        json!([1, 2, 3]),
        json!({"textDocument": {"uri": 7}}),
        json!({"textDocument": {"uri": "not a uri"}, "position": {"line": 0, "character": 0}}),
        json!({"textDocument": {"uri": a}, "position": far, "newName": "x", "context": {"includeDeclaration": true},
               "range": {"start": far, "end": {"line": 0, "character": 0}}, "options": {"tabSize": 2, "insertSpaces": true}}),
        json!({"textDocument": {"uri": a}, "position": {"line": 0, "character": 27}, "newName": "",
               "context": {"includeDeclaration": false, "diagnostics": []},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 99}},
               "options": {"tabSize": 2, "insertSpaces": true}}),
    ];
    for m in methods {
        for p in &shapes {
            let r = c.request_raw(m, p.clone());
            if let Some(e) = r.get("error") {
                assert_ne!(e["code"], json!(-32603), "{m} {p}: an internal error is a panic caught: {r}");
            }
        }
    }
    for n in ["textDocument/didOpen", "textDocument/didChange", "textDocument/didClose", "textDocument/didSave"] {
        for p in &shapes {
            c.notify(n, p.clone());
        }
    }
    // Still answering, and still right.
    let r = c.request("textDocument/documentSymbol", json!({"textDocument": {"uri": a}}));
    assert_eq!(r[0]["name"], "api");
    assert!(c.stop().success());
    // `exit` without `shutdown`: status 1.
    let mut c = Client::start(root);
    c.request("initialize", json!({"processId": null, "rootUri": uri(root), "capabilities": {}}));
    c.notify("initialized", json!({}));
    c.notify("exit", Value::Null);
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = c.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1));
}
