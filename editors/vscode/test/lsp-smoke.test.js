// Starts the server the way the extension does (`<slo> lsp`, stdio, the
// workspace folder as working directory) and talks LSP to it: initialize,
// open a file with an error, wait for its diagnostics, ask for semantic
// tokens and symbols, shut down. Skipped when no `slo` binary is found:
// SLO_BIN, else the repository's target/{debug,release}/slo, else PATH.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { pathToFileURL } = require("url");
const { currentEnvironment, resolveExecutable, serverArgs } = require("../dist/test/server.js");

const REPO = path.resolve(__dirname, "..", "..", "..");

function findSlo() {
  const env = currentEnvironment(REPO, os.homedir());
  for (const candidate of [process.env.SLO_BIN, "target/debug/slo", "target/release/slo", "slo"]) {
    if (!candidate) continue;
    const found = resolveExecutable(candidate.includes("/") && !path.isAbsolute(candidate) ? `./${candidate}` : candidate, env);
    if (found) return found;
  }
  return undefined;
}

/** A minimal LSP connection over a child's stdio (Content-Length framing). */
class Connection {
  constructor(child) {
    this.child = child;
    this.buffer = Buffer.alloc(0);
    this.nextId = 1;
    this.pending = new Map();
    this.notifications = [];
    this.waiters = [];
    this.stderr = "";
    child.stderr.on("data", (d) => (this.stderr += d));
    child.stdout.on("data", (d) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.drain();
    });
  }

  drain() {
    for (;;) {
      const sep = this.buffer.indexOf("\r\n\r\n");
      if (sep < 0) return;
      const header = this.buffer.subarray(0, sep).toString("ascii");
      const m = /Content-Length: (\d+)/i.exec(header);
      if (!m) throw new Error(`bad header: ${header}`);
      const len = Number(m[1]);
      if (this.buffer.length < sep + 4 + len) return;
      const msg = JSON.parse(this.buffer.subarray(sep + 4, sep + 4 + len).toString("utf8"));
      this.buffer = this.buffer.subarray(sep + 4 + len);
      this.dispatch(msg);
    }
  }

  dispatch(msg) {
    if (msg.id !== undefined && msg.method === undefined) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (p) (msg.error ? p.reject(new Error(JSON.stringify(msg.error))) : p.resolve(msg.result));
    } else if (msg.id !== undefined) {
      // A request from the server (client/registerCapability, …): accept it.
      this.write({ jsonrpc: "2.0", id: msg.id, result: null });
    } else {
      this.notifications.push(msg);
      this.waiters = this.waiters.filter((w) => !w(msg));
    }
  }

  write(msg) {
    const body = Buffer.from(JSON.stringify(msg), "utf8");
    this.child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.child.stdin.write(body);
  }

  request(method, params) {
    const id = this.nextId++;
    this.write({ jsonrpc: "2.0", id, method, params });
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  notify(method, params) {
    this.write({ jsonrpc: "2.0", method, params });
  }

  /** The first notification (already received or to come) for which `pred` holds. */
  waitFor(pred) {
    const seen = this.notifications.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) =>
      this.waiters.push((msg) => {
        if (!pred(msg)) return false;
        resolve(msg);
        return true;
      }),
    );
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test("slo lsp answers the extension's client", async (t) => {
  const slo = findSlo();
  if (!slo) {
    t.skip("no slo binary (set SLO_BIN, build target/debug/slo, or put slo on PATH)");
    return;
  }
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), "slo-vscode-lsp-"));
  const file = path.join(ws, "api.slo");
  const text = [
    "service api {",
    '  owner = "platform-sre"',
    "}",
    "",
    "slo availability for apii {",
    "  objective = 99.9% over 28d",
    "  sli events {",
    '    bad = http_requests_total{job="api", code=~"5.."}',
    '    total = http_requests_total{job="api"}',
    "  }",
    "}",
    "",
  ].join("\n");
  fs.writeFileSync(file, text);
  const uri = pathToFileURL(file).href;
  const root = pathToFileURL(ws).href;

  const child = spawn(slo, serverArgs([]), { cwd: ws, stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  const conn = new Connection(child);
  t.after(() => {
    if (child.exitCode === null) child.kill();
  });

  const init = await withTimeout(
    conn.request("initialize", {
      processId: process.pid,
      rootUri: root,
      workspaceFolders: [{ uri: root, name: "ws" }],
      capabilities: {
        textDocument: { publishDiagnostics: {}, semanticTokens: { requests: { full: true } } },
        workspace: { didChangeWatchedFiles: { dynamicRegistration: true } },
      },
    }),
    20000,
    "initialize",
  );
  assert.equal(init.serverInfo?.name, "slo");
  const caps = init.capabilities;
  for (const cap of ["hoverProvider", "definitionProvider", "documentFormattingProvider", "semanticTokensProvider"]) {
    assert.ok(caps[cap], `the server offers ${cap}`);
  }
  conn.notify("initialized", {});
  conn.notify("textDocument/didOpen", { textDocument: { uri, languageId: "slo", version: 1, text } });

  const diags = await withTimeout(
    conn.waitFor(
      (m) => m.method === "textDocument/publishDiagnostics" && m.params.uri === uri && m.params.diagnostics.length > 0,
    ),
    20000,
    "diagnostics",
  );
  const unknown = diags.params.diagnostics.find((d) => d.range.start.line === 4);
  assert.ok(unknown, `a diagnostic on the unknown service (line 5): ${JSON.stringify(diags.params.diagnostics)}`);

  const tokens = await withTimeout(
    conn.request("textDocument/semanticTokens/full", { textDocument: { uri } }),
    20000,
    "semantic tokens",
  );
  assert.ok(tokens.data.length > 0, "semantic tokens");
  const symbols = await withTimeout(
    conn.request("textDocument/documentSymbol", { textDocument: { uri } }),
    20000,
    "document symbols",
  );
  assert.ok(symbols.length >= 2, `symbols: ${JSON.stringify(symbols)}`);

  await withTimeout(conn.request("shutdown", null), 20000, "shutdown");
  conn.notify("exit", null);
  child.stdin.end();
  assert.equal(await withTimeout(exited, 20000, "exit"), 0, `exit status (stderr: ${conn.stderr})`);
});
