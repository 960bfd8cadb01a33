#!/usr/bin/env python3
"""corpus-inputs.py OUT: writes the source of each test of test/corpus/ to
OUT/<NN>_<file>.slo (run from the grammar's folder) and prints the paths."""
import glob
import os
import re
import sys

TEST = re.compile(r"^(={3,})\n(.*?)\n\1\n\n(.*?)\n\n-{3,}\n", re.S | re.M)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    for path in sorted(glob.glob("test/corpus/*.txt")):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in TEST.finditer(text):
            n += 1
            dest = os.path.join(out, "%02d_%s.slo" % (n, os.path.basename(path)[:-4]))
            with open(dest, "w", encoding="utf-8") as f:
                f.write(m.group(3) + "\n")
            print(dest)


if __name__ == "__main__":
    main()
