#!/usr/bin/env bash
# Installs the tree-sitter CLI that test.sh is run with, built from crates.io
# (no prebuilt binary), into ROOT/bin: `install-cli.sh ROOT`. Does nothing if
# ROOT/bin/tree-sitter already is this version. Takes several minutes on two
# cores.
set -euo pipefail

version=0.27.1

root="${1:?usage: install-cli.sh ROOT (the CLI goes to ROOT/bin/tree-sitter)}"
if [ -x "$root/bin/tree-sitter" ] && [ "$("$root/bin/tree-sitter" --version | awk '{print $2}')" = "$version" ]; then
  echo "tree-sitter $version already in $root/bin"
  exit 0
fi
cargo install tree-sitter-cli --version "$version" --locked --root "$root"
