#!/usr/bin/env bash
# Builds, tests and packages the VS Code extension from a clean install:
#   npm ci (from package-lock.json), npm run build, npm test (grammar unit
#   tests + every .slo file of the repository), npm run package (the .vsix).
# Needs Node.js 20 or later and the npm registry, nothing else.
set -euo pipefail
cd "$(dirname "$0")"

node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
  echo "test.sh: Node.js 20 or later is needed (found $(node --version))" >&2
  exit 1
fi

export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

echo "== npm ci"
npm ci --no-progress

echo "== npm run build"
npm run --silent build

echo "== npm test"
# vscode-tmgrammar-test can spin on a malformed assertion line; never hang CI.
timeout 600 npm run --silent test

echo "== npm run package"
version=$(node -p 'require("./package.json").version')
vsix="slo-${version}.vsix"
rm -f "$vsix"
npm run --silent package

if [[ ! -s "$vsix" ]]; then
  echo "test.sh: $vsix was not written" >&2
  exit 1
fi
# The package must hold what VS Code loads.
python3 - "$vsix" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["extension/package.json", "extension/dist/extension.js", "extension/syntaxes/slo.tmLanguage.json",
        "extension/language-configuration.json", "extension/readme.md", "extension/changelog.md", "extension/LICENSE.md",
        "extension.vsixmanifest"]
missing = [n for n in need if n not in names]
stray = sorted(n for n in names if "/node_modules/" in n or n.startswith("extension/src/") or n.startswith("extension/test/"))
if missing or stray:
    sys.exit(f"{sys.argv[1]}: missing {missing}, unexpected {stray[:5]}")
print(f"{sys.argv[1]}: {len(names)} files, all expected ones present")
PY
echo "test.sh: ok ($vsix, $(du -k "$vsix" | cut -f1) KiB)"
