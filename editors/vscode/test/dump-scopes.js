#!/usr/bin/env node
// Prints every token of .slo files with its scopes, for checking the grammar
// by eye:  node test/dump-scopes.js ../../examples/features/imports.slo [--lines 10-20]
"use strict";

const fs = require("fs");
const { loadGrammar } = require("./grammar-loader");

async function main() {
  const args = process.argv.slice(2);
  let range = null;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--lines") {
      const [a, b] = args[++i].split("-").map(Number);
      range = [a, b || a];
    } else {
      files.push(args[i]);
    }
  }
  if (files.length === 0) {
    console.error("usage: node test/dump-scopes.js FILE.slo... [--lines FROM-TO]");
    process.exit(2);
  }
  const { grammar, INITIAL } = await loadGrammar();
  for (const file of files) {
    console.log(`== ${file}`);
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    let state = INITIAL;
    lines.forEach((line, i) => {
      const r = grammar.tokenizeLine(line, state);
      state = r.ruleStack;
      const n = i + 1;
      if (range && (n < range[0] || n > range[1])) return;
      console.log(`${String(n).padStart(4)} | ${line}`);
      for (const t of r.tokens) {
        const text = line.slice(t.startIndex, t.endIndex);
        if (text.trim() === "") continue;
        const scopes = t.scopes.slice(1).filter((s) => !s.startsWith("meta.") || s.startsWith("meta.embedded"));
        console.log(`       ${JSON.stringify(text).padEnd(32)} ${scopes.join(" ")}`);
      }
    });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
