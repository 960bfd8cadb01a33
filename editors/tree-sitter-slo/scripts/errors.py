#!/usr/bin/env python3
"""errors.py [--expect] < OUTPUT: reads the output of `tree-sitter query
--captures` for the query `(ERROR) @error (MISSING) @missing` and prints one
line per ERROR or MISSING node (`file:line:column: error`, 1-based). Exits 1
if there is any; with --expect, instead prints each file that has none, and
exits 1 if there is such a file.

(The query finds MISSING nodes that `tree-sitter parse --quiet` does not
always report.)"""
import re
import sys

LINE = re.compile(r"capture: \d+ - (\w+), start: \((\d+), (\d+)\)")


def main():
    expect = "--expect" in sys.argv[1:]
    found = {}
    current = None
    for raw in sys.stdin:
        line = raw.rstrip("\n")
        if line and not line[0].isspace():
            current = line.strip()
            found.setdefault(current, [])
            continue
        m = LINE.search(line)
        if m and current is not None:
            found[current].append((int(m.group(2)) + 1, int(m.group(3)) + 1, m.group(1)))
    bad = 0
    for path, nodes in found.items():
        if expect:
            if not nodes:
                bad += 1
                print(f"{path}: no ERROR or MISSING node")
        else:
            for row, col, kind in nodes:
                print(f"{path}:{row}:{col}: {kind}")
            bad += bool(nodes)
    print(bad)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
