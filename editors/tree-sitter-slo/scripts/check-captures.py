#!/usr/bin/env python3
"""Reads `tree-sitter query --captures` output on stdin and checks that no
node range receives two different highlight captures (captures whose name
starts with `_` are predicate helpers and are ignored). With --cover FILE,
FILE holds the same tool's output for a query that captures every node that
must be highlighted; each of those ranges must get a capture.

Prints one line per problem and exits 1 if there is any."""
import re
import sys

LINE = re.compile(r"capture: \d+ - ([\w.]+), start: \((\d+), (\d+)\), end: \((\d+), (\d+)\), text: `(.*)`$")


def read(stream):
    by_file = {}
    current = None
    for raw in stream:
        line = raw.rstrip("\n")
        if line and not line.startswith(" ") and not line.startswith("\x1b"):
            current = line.strip()
            by_file.setdefault(current, {})
            continue
        m = LINE.search(line)
        if m and current is not None:
            name, r0, c0, r1, c1, text = m.groups()
            if name.startswith("_"):
                continue
            key = (int(r0), int(c0), int(r1), int(c1))
            by_file[current].setdefault(key, (set(), text))[0].add(name)
    return by_file


def main():
    captures = read(sys.stdin)
    problems = 0
    for path, ranges in sorted(captures.items()):
        for (r0, c0, _, _), (names, text) in sorted(ranges.items()):
            if len(names) > 1:
                problems += 1
                print(f"{path}:{r0 + 1}:{c0 + 1}: `{text}` has several captures: {', '.join(sorted(names))}")
    if len(sys.argv) == 3 and sys.argv[1] == "--cover":
        with open(sys.argv[2]) as f:
            wanted = read(f)
        for path, ranges in sorted(wanted.items()):
            got = captures.get(path, {})
            for key, (_, text) in sorted(ranges.items()):
                if key not in got:
                    problems += 1
                    print(f"{path}:{key[0] + 1}:{key[1] + 1}: `{text}` has no highlight capture")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
