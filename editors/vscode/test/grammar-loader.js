// Loads syntaxes/slo.tmLanguage.json with vscode-textmate and the Oniguruma
// regex engine VS Code itself uses (vscode-oniguruma's WebAssembly build).
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const GRAMMAR = path.join(__dirname, "..", "syntaxes", "slo.tmLanguage.json");

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== "source.slo") return null;
      return vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, "utf8"), GRAMMAR);
    },
  });
  const grammar = await registry.loadGrammar("source.slo");
  if (!grammar) throw new Error(`cannot load ${GRAMMAR}`);
  return { grammar, INITIAL: vsctm.INITIAL };
}

/** The scopes open after `state`: those of a token on an empty line tokenized from it. */
function openScopes(grammar, state) {
  return grammar.tokenizeLine("", state).tokens[0].scopes;
}

module.exports = { loadGrammar, openScopes };
