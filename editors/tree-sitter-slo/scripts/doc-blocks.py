#!/usr/bin/env python3
"""doc-blocks.py ROOT OUT: writes each ```slo block of the Markdown files
that tests/integration/docs.rs checks (README.md, ARCHITECTURE.md,
editors/README.md, docs/*.md), and of editors/tree-sitter-slo/README.md, to
OUT/<file>_line<N>.slo, and prints the paths written."""
import os
import sys


def main():
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    files = ["README.md", "ARCHITECTURE.md", "editors/README.md", "editors/tree-sitter-slo/README.md"]
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        files += sorted("docs/" + f for f in os.listdir(docs) if f.endswith(".md"))
    for name in files:
        path = os.path.join(root, name)
        if not os.path.exists(path):
            continue
        block = None
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines, 1):
            fence = line.lstrip()
            if fence.startswith("```"):
                if block is None:
                    block = (i, fence[3:].strip(), [])
                    continue
                at, info, body = block
                block = None
                if info == "slo":
                    dest = os.path.join(out, "%s_line%d.slo" % (name.replace("/", "_"), at))
                    with open(dest, "w", encoding="utf-8") as f:
                        f.write("\n".join(body) + "\n")
                    print(dest)
            elif block is not None:
                block[2].append(line)


if __name__ == "__main__":
    main()
