#!/usr/bin/env bash
# Builds a Zed dev extension for .slo in OUT_DIR:
#   OUT_DIR/grammar    a git repository holding grammar.js and the generated
#                      parser (Zed compiles src/parser.c from a commit; the
#                      generated src/ is not kept in the slo repository)
#   OUT_DIR/extension  this folder, with [grammars.slo] pointing at that
#                      repository and commit
# Then, in Zed: `zed: install dev extension`, and pick OUT_DIR/extension.
# Needs the tree-sitter CLI (on PATH, or in $TREE_SITTER) and git.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: zed/prepare.sh OUT_DIR}"
ts="${TREE_SITTER:-tree-sitter}"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
(cd "$here" && "$ts" generate)

grammar="$out/grammar"
rm -rf "$grammar" "$out/extension"
mkdir -p "$grammar"
cp -R "$here/grammar.js" "$here/tree-sitter.json" "$here/package.json" "$here/src" "$here/queries" "$grammar/"
git -C "$grammar" init -q
git -C "$grammar" add -A
git -C "$grammar" -c user.name=tree-sitter-slo -c user.email=tree-sitter-slo@localhost \
  commit -q -m "tree-sitter-slo with its generated parser"
rev="$(git -C "$grammar" rev-parse HEAD)"

cp -R "$here/zed" "$out/extension"
rm -f "$out/extension/prepare.sh"
GRAMMAR_URL="file://$grammar" GRAMMAR_REV="$rev" perl -pi -e '
  s{^repository = .*}{repository = "$ENV{GRAMMAR_URL}"};
  s{^rev = .*}{rev = "$ENV{GRAMMAR_REV}"};
' "$out/extension/extension.toml"

echo "Zed dev extension ready: $out/extension (grammar $grammar at $rev)"
