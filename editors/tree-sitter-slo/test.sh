#!/usr/bin/env bash
# Tests the tree-sitter grammar for .slo: `bash test.sh [--pest]`. Needs the
# tree-sitter CLI (on PATH, or its path in $TREE_SITTER; install-cli.sh
# installs the pinned version), a C compiler and python3.
#
#   1. tree-sitter generate, then tree-sitter test: the corpus (test/corpus)
#      and the highlight assertions (test/highlight);
#   2. every query file compiles against the grammar, the Helix and Zed
#      highlight queries are in sync with queries/highlights.scm, and
#      tree-sitter highlight runs;
#   3. every .slo file of the repository, and every ```slo block of the docs
#      that tests/integration/docs.rs checks, parses with no ERROR or
#      MISSING node; each syntax-error fixture (below) has one;
#   4. over all of those files, no node gets two different highlight
#      captures (so the editors' precedence rules do not matter), and every
#      identifier and string gets one;
#   5. with --pest (needs cargo; builds pest-compare/, about a minute): for
#      those files, the fixtures and the corpus inputs, tree-sitter's tree
#      has the same nodes as the pest parse of grammar/slo.pest, and what
#      pest rejects has an ERROR or MISSING node;
#   6. with --fuzz N (implies --pest): the same comparison on N mutated
#      copies of those files (scripts/mutate.py). It prints the differences
#      and does not fail: the README lists the known ones.
#
# Syntax-error fixtures: the files under tests/errors/ whose `// expect:`
# header names slo::syntax::unexpected (the pest grammar rejects them). Files
# whose header names slo::syntax::not_utf8 are not UTF-8 text and are left
# out. Every other .slo file must parse cleanly, including the tests/errors/
# files that fail only the checker, or only the later syntax checks
# (slo::syntax::bad_escape, bad_number, too_deep: the pest grammar accepts
# those files).
set -euo pipefail

pest=false
fuzz=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pest) pest=true ;;
    --fuzz) pest=true; fuzz="${2:?--fuzz needs a count}"; shift ;;
    *) echo "usage: test.sh [--pest] [--fuzz N]" >&2; exit 2 ;;
  esac
  shift
done

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

ts="${TREE_SITTER:-tree-sitter}"
if ! command -v "$ts" >/dev/null 2>&1; then
  echo "tree-sitter-slo: no tree-sitter CLI: put it on PATH or set TREE_SITTER (install-cli.sh installs it)" >&2
  exit 2
fi
pinned="$(sed -n 's/^version=//p' install-cli.sh)"
have="$("$ts" --version | awk '{print $2}')"
if [ "$have" != "$pinned" ]; then
  echo "tree-sitter-slo: warning: tree-sitter $have; the grammar is tested with $pinned (install-cli.sh)" >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A config that makes the CLI find this grammar by file type (for
# `tree-sitter highlight`) without reading or writing ~/.config.
printf '{"parser-directories": ["%s"]}\n' "$(dirname "$here")" > "$work/config.json"
cfg=(--config-path "$work/config.json")
printf '(ERROR) @error\n(MISSING) @missing\n' > "$work/errors.scm"

echo "== tree-sitter generate ($have)"
"$ts" generate

echo "== tree-sitter test"
"$ts" test "${cfg[@]}"
corpus="$("$ts" test "${cfg[@]}" --json-summary 2>/dev/null | python3 -c '
import json, sys
def leaves(nodes):
    for n in nodes:
        yield from leaves(n["children"]) if "children" in n else [n]
tests = list(leaves(json.load(sys.stdin)["parse_results"]))
passed = sum(t.get("outcome") == "Passed" for t in tests)
if passed != len(tests):
    sys.exit("corpus: %d of %d tests passed" % (passed, len(tests)))
print(passed)
')"

echo "== queries"
"$ts" build -o "$work/slo.so" . >/dev/null
lib=(-l "$work/slo.so" --lang-name slo "${cfg[@]}")
sample="$root/examples/features/alert_tiers.slo"
for q in queries/*.scm queries/helix/*.scm zed/languages/slo/*.scm; do
  "$ts" query "${lib[@]}" -q "$q" "$sample" >/dev/null || { echo "tree-sitter-slo: $q does not compile" >&2; exit 1; }
done
python3 scripts/gen-variants.py --check
"$ts" highlight "${cfg[@]}" "$sample" >/dev/null

echo "== parse every .slo file"
find "$root" \( -name target -o -name .git -o -name node_modules -o -name .tools \) -prune \
  -o -name '*.slo' -type f -print | LC_ALL=C sort > "$work/all.txt"
: > "$work/good.txt"
: > "$work/fixtures.txt"
while IFS= read -r f; do
  case "$f" in
    "$root"/tests/errors/*)
      # The codes on the `// expect:` lines of the leading `//` block, as
      # tests/integration/errors.rs reads them.
      codes=" $(LC_ALL=C sed -n '/^\/\//!q; s/^\/\/ expect://p' "$f" | tr -s ' \n' '  ') "
      case "$codes" in
        *" slo::syntax::unexpected "*) echo "$f" >> "$work/fixtures.txt"; continue ;;
        *" slo::syntax::not_utf8 "*) continue ;;
      esac
      ;;
  esac
  echo "$f" >> "$work/good.txt"
done < "$work/all.txt"
python3 scripts/doc-blocks.py "$root" "$work/docs" >> "$work/good.txt"
files=$(wc -l < "$work/good.txt")
blocks=$(grep -c "^$work/docs/" "$work/good.txt" || true)
fixtures=$(wc -l < "$work/fixtures.txt")

"$ts" query "${lib[@]}" -c --paths "$work/good.txt" "$work/errors.scm" > "$work/errors.txt"
if ! python3 scripts/errors.py < "$work/errors.txt" > "$work/errors-out.txt"; then
  echo "tree-sitter-slo: ERROR or MISSING nodes (file:line:column, 1-based):" >&2
  sed '$d' "$work/errors-out.txt" | sed "s|$root/||; s|$work/docs/||" >&2
  echo "tree-sitter-slo: $files files parsed, $(tail -n 1 "$work/errors-out.txt") with errors" >&2
  exit 1
fi
# The syntax-error fixtures must not parse cleanly: the grammar is no more
# permissive than pest on them.
if [ "$fixtures" -gt 0 ]; then
  "$ts" query "${lib[@]}" -c --paths "$work/fixtures.txt" "$work/errors.scm" > "$work/fixture-errors.txt"
  if ! python3 scripts/errors.py --expect < "$work/fixture-errors.txt" > "$work/fixtures-out.txt"; then
    echo "tree-sitter-slo: syntax-error fixtures that parse without errors:" >&2
    sed '$d' "$work/fixtures-out.txt" | sed "s|$root/||" >&2
    exit 1
  fi
fi

echo "== highlight captures"
printf '(ident) @ident\n(string) @string\n' > "$work/cover.scm"
"$ts" query "${lib[@]}" -c --paths "$work/good.txt" queries/highlights.scm > "$work/captures.txt"
"$ts" query "${lib[@]}" -c --paths "$work/good.txt" "$work/cover.scm" > "$work/cover.txt"
python3 scripts/check-captures.py --cover "$work/cover.txt" < "$work/captures.txt"

if $pest; then
  echo "== compare with pest"
  (cd pest-compare && cargo build --release --locked --quiet)
  python3 scripts/corpus-inputs.py "$work/corpus" > "$work/corpus.txt"
  cat "$work/good.txt" "$work/fixtures.txt" "$work/corpus.txt" > "$work/compare.txt"
  pest-compare/target/release/slo-pest-tree < "$work/compare.txt" > "$work/pest-trees.txt"
  "$ts" parse "${lib[@]}" --no-ranges --paths "$work/compare.txt" > "$work/ts-trees.txt" 2>/dev/null || true
  "$ts" query "${lib[@]}" -c --paths "$work/compare.txt" "$work/errors.scm" > "$work/compare-errors.txt"
  if ! python3 scripts/compare-pest.py "$work/pest-trees.txt" "$work/ts-trees.txt" "$work/compare-errors.txt" \
    > "$work/compare-out.txt"; then
    sed "s|$root/||; s|$work/||" "$work/compare-out.txt" >&2
    exit 1
  fi
  tail -n 1 "$work/compare-out.txt"
fi

if [ "$fuzz" -gt 0 ]; then
  echo "== compare with pest on $fuzz mutated files"
  python3 scripts/mutate.py "$work/good.txt" "$work/fuzz" "$fuzz" "${FUZZ_SEED:-$RANDOM}" > "$work/fuzz.txt"
  pest-compare/target/release/slo-pest-tree < "$work/fuzz.txt" > "$work/fuzz-pest.txt"
  "$ts" parse "${lib[@]}" --no-ranges --paths "$work/fuzz.txt" > "$work/fuzz-ts.txt" 2>/dev/null || true
  "$ts" query "${lib[@]}" -c --paths "$work/fuzz.txt" "$work/errors.scm" > "$work/fuzz-errors.txt"
  mkdir -p "${FUZZ_KEEP:-$work/keep}"
  python3 scripts/compare-pest.py "$work/fuzz-pest.txt" "$work/fuzz-ts.txt" "$work/fuzz-errors.txt" \
    | while IFS= read -r line; do
      case "$line" in
        "$work"/fuzz/*) cp "${line%%.slo:*}.slo" "${FUZZ_KEEP:-$work/keep}/" && echo "$line" ;;
        *) echo "$line" ;;
      esac
    done || true
fi

echo "tree-sitter-slo: $files files parsed, 0 errors; corpus: $corpus tests passed" \
  "($blocks of the files are doc blocks; $fixtures syntax-error fixtures rejected)"
