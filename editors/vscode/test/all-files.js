#!/usr/bin/env node
// Tokenizes every .slo file of the repository with the TextMate grammar, as
// VS Code would, and fails on what a broken grammar shows:
//
//   - a token scoped `invalid.illegal` (a bad escape, an unterminated string);
//   - a "..." or '...' string still open at the end of a line (they cannot
//     span lines; only `raw` strings can);
//   - a top-level declaration (`service`, `slo`, … at column 0) that starts
//     while the grammar is still inside something: the declaration before it
//     leaked (an unclosed block, selector, list, string, …);
//   - anything still open at the end of the file.
//
// Files under tests/errors whose header says `// expect: slo::syntax::…` do
// not parse on purpose (an unterminated string or block, a bad escape); their
// problems are reported but not counted.
//
//   node test/all-files.js [REPO_ROOT] [--verbose]
"use strict";

const fs = require("fs");
const path = require("path");
const { loadGrammar, openScopes } = require("./grammar-loader");

const SKIP_DIRS = new Set([".git", "target", "node_modules"]);
const DECL = /^(?:import|service|slo|template|alerts|policy)(?![A-Za-z0-9_])(?!\s*=)/;
const SYNTAX_ERROR_EXPECTED = /^\/\/ expect: slo::syntax::/m;

function sloFiles(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) sloFiles(path.join(dir, entry.name), out);
    } else if (entry.isFile() && entry.name.endsWith(".slo")) {
      out.push(path.join(dir, entry.name));
    }
  }
  return out;
}

function describe(scopes) {
  return scopes.slice(1).join(" ") || "(top level)";
}

/** Problems of one file: [{ line, column, message }]. */
function check(grammar, INITIAL, text) {
  const problems = [];
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  let state = INITIAL;
  lines.forEach((line, i) => {
    const n = i + 1;
    if (DECL.test(line)) {
      const open = openScopes(grammar, state);
      if (open.length > 1) {
        problems.push({ line: n, column: 1, message: `a declaration starts inside ${describe(open)}` });
      }
    }
    const r = grammar.tokenizeLine(line, state);
    for (const t of r.tokens) {
      const bad = t.scopes.find((s) => s.startsWith("invalid.illegal"));
      if (bad) {
        const got = JSON.stringify(line.slice(t.startIndex, t.endIndex));
        problems.push({ line: n, column: t.startIndex + 1, message: `${got} is ${bad}` });
      }
    }
    state = r.ruleStack;
    const open = openScopes(grammar, state);
    const str = open.find((s) => /^string\.quoted\.(?:double|single)\./.test(s));
    if (str) {
      problems.push({ line: n, column: line.length + 1, message: `${str} continues past the end of the line` });
    }
  });
  const open = openScopes(grammar, state);
  if (open.length > 1) {
    problems.push({ line: lines.length, column: 1, message: `the file ends inside ${describe(open)}` });
  }
  return { problems, lines: lines.length };
}

async function main() {
  const args = process.argv.slice(2);
  const verbose = args.includes("--verbose");
  const root = path.resolve(args.find((a) => !a.startsWith("--")) || path.join(__dirname, "..", "..", ".."));
  const files = sloFiles(root).sort();
  if (files.length === 0) {
    console.error(`no .slo files under ${root}`);
    process.exit(1);
  }
  const { grammar, INITIAL } = await loadGrammar();
  let lines = 0;
  let problems = 0;
  let expected = 0;
  let expectedFiles = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    const rel = path.relative(root, file);
    const r = check(grammar, INITIAL, text);
    lines += r.lines;
    const excused = SYNTAX_ERROR_EXPECTED.test(text);
    if (excused) {
      expected += r.problems.length;
      if (r.problems.length > 0) expectedFiles++;
    } else {
      problems += r.problems.length;
    }
    for (const p of r.problems) {
      if (!excused || verbose) {
        console.log(`${rel}:${p.line}:${p.column}: ${p.message}${excused ? " (expected: the file does not parse)" : ""}`);
      }
    }
  }
  if (expected > 0) {
    console.log(
      `(${expected} problems in ${expectedFiles} files that do not parse on purpose, ` +
        `per their "// expect: slo::syntax::…" header, not counted; --verbose lists them)`,
    );
  }
  console.log(`vscode grammar: ${files.length} files, ${lines} lines tokenized, ${problems} problems`);
  process.exit(problems === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
