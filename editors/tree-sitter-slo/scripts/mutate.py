#!/usr/bin/env python3
"""mutate.py LIST OUT N [SEED]: writes N mutated copies of the .slo files
named in LIST (one path a line) to OUT/mNNNNN.slo and prints their paths.
Each copy has one token deleted, replaced, or given a neighbour, with tokens
and keywords of the language: material for comparing tree-sitter with pest
(test.sh --fuzz N)."""
import os
import random
import re
import sys

TOKEN = re.compile(
    r'//[^\n]*|"(?:[^"\\\n]|\\.)*"|`[^`]*`|\d+(?:\.\d+)?[a-z%/]*|[A-Za-z_:][A-Za-z0-9_:]*|=>|[=!<>]=|=~|!~|\S'
)
PIECES = (
    ". , : = { } ( ) [ ] / => < >= =~ != of budget over when severity as and between good tier threshold sli "
    "calendar in std for true false import service slo template alerts policy 5m 1h30m 1/s 20/min 99% 2x -1 1e3 "
    'x a.b job:up a: :x true: x: "s" \'q\' `r` {} [] f() m{a="b"}'
).split()


def main():
    listing, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    with open(listing) as f:
        files = [l.strip() for l in f if l.strip()]
    os.makedirs(out, exist_ok=True)
    written = 0
    while written < n:
        with open(files[rng.randrange(len(files))], encoding="utf-8", errors="replace") as f:
            text = f.read()
        tokens = [m for m in TOKEN.finditer(text) if not m.group(0).startswith("//")]
        if not tokens:
            continue
        m = rng.choice(tokens)
        piece = rng.choice(PIECES)
        new = rng.choice(["", piece, m.group(0) + " " + piece, piece + " " + m.group(0), m.group(0) + piece])
        dest = os.path.join(out, "m%05d.slo" % written)
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text[: m.start()] + new + text[m.end() :])
        print(dest)
        written += 1


if __name__ == "__main__":
    main()
