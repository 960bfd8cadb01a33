// Unit tests of src/server.ts (how the client finds `slo` from its settings),
// bundled to dist/test/server.js by `npm run test:client`.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { expand, isPathLike, resolveExecutable, serverArgs } = require("../dist/test/server.js");

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), "slo-vscode-"));
}

function executable(dir, name) {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, "#!/bin/sh\n");
  fs.chmodSync(p, 0o755);
  return p;
}

const posix = (over) => ({ home: "/home/u", pathDirs: [], platform: "linux", ...over });

test("a bare name is a command, anything with a separator a path", () => {
  assert.equal(isPathLike("slo"), false);
  assert.equal(isPathLike("./slo"), true);
  assert.equal(isPathLike("/usr/bin/slo"), true);
  assert.equal(isPathLike("bin\\slo.exe"), true);
});

test("expand: ~, ${workspaceFolder}, relative paths", () => {
  const env = posix({ workspaceRoot: "/ws" });
  assert.equal(expand("~/bin/slo", env), "/home/u/bin/slo");
  assert.equal(expand("${workspaceFolder}/target/debug/slo", env), "/ws/target/debug/slo");
  assert.equal(expand("./target/debug/slo", env), "/ws/target/debug/slo");
  assert.equal(expand("target/release/slo", env), "/ws/target/release/slo");
  assert.equal(expand("/opt/slo", env), "/opt/slo");
  assert.equal(expand("slo", env), "slo", "a bare name stays a command");
  assert.equal(expand("  slo  ", env), "slo");
  // Without a workspace folder, a relative path is left as it is.
  assert.equal(expand("./slo", posix({})), "./slo");
});

test("resolveExecutable looks a bare name up on PATH, in order", () => {
  const a = tempDir();
  const b = tempDir();
  const inB = executable(b, "slo");
  assert.equal(resolveExecutable("slo", posix({ pathDirs: [a, b] })), inB);
  const inA = executable(a, "slo");
  assert.equal(resolveExecutable("slo", posix({ pathDirs: [a, b] })), inA);
  assert.equal(resolveExecutable("slo", posix({ pathDirs: [] })), undefined);
  assert.equal(resolveExecutable("", posix({ pathDirs: [a] })), inA, "an empty setting means `slo`");
});

test("resolveExecutable takes a path from the workspace folder, and needs an executable file", () => {
  const ws = tempDir();
  const bin = executable(ws, path.join("target", "debug", "slo"));
  const env = posix({ workspaceRoot: ws });
  assert.equal(resolveExecutable("./target/debug/slo", env), bin);
  assert.equal(resolveExecutable("${workspaceFolder}/target/debug/slo", env), bin);
  assert.equal(resolveExecutable(bin, posix({})), bin);
  assert.equal(resolveExecutable("./target/release/slo", env), undefined, "missing");
  assert.equal(resolveExecutable("./target", env), undefined, "a directory");
  const plain = path.join(ws, "not-executable");
  fs.writeFileSync(plain, "");
  fs.chmodSync(plain, 0o644);
  // access(X_OK) fails without any execute bit, for root too.
  assert.equal(resolveExecutable(plain, env), undefined, "no execute permission");
});

test("resolveExecutable tries PATHEXT on Windows", () => {
  const dir = tempDir();
  const exe = executable(dir, "slo.EXE");
  const env = { home: "C:\\u", pathDirs: [dir], platform: "win32", pathExt: ".COM;.EXE" };
  assert.equal(resolveExecutable("slo", env), exe);
});

test("serverArgs: `lsp` and then the string extra arguments", () => {
  assert.deepEqual(serverArgs(undefined), ["lsp"]);
  assert.deepEqual(serverArgs([]), ["lsp"]);
  assert.deepEqual(serverArgs(["--stdio", 3, null, "x"]), ["lsp", "--stdio", "x"]);
  assert.deepEqual(serverArgs("--stdio"), ["lsp"]);
});
