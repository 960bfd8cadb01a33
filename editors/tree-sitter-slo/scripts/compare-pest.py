#!/usr/bin/env python3
"""compare-pest.py PEST_TREES TS_TREES TS_ERRORS: compares, file by file,
the pest parse trees printed by pest-compare (`== PATH` headers) with the
output of `tree-sitter parse --no-ranges` for the same paths in the same
order; TS_ERRORS is the output of `tree-sitter query --captures` with the
query `(ERROR) @error (MISSING) @missing` over the same paths.

A file pest accepts must have the same named nodes, in the same order and
nesting, in both trees (tree-sitter's `comment` and `escape_sequence` nodes
are left out) and no ERROR or MISSING node. A file pest rejects must have an
ERROR or MISSING node in tree-sitter's tree (files that are not UTF-8 are
skipped). Prints one line per difference and a summary, and exits 1 if
there is any difference."""
import re
import sys

DROP = {"comment", "escape_sequence"}


def pest_trees(path):
    trees, current = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("== "):
                current = [line[3:], []]
                trees.append(current)
            elif current is not None:
                current[1].append(line)
    return trees


def ts_trees(path):
    """One list of `depth name` lines per tree; a tree's root (`source_file`,
    or `ERROR` when nothing parsed) starts a line."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    # Drop the "path<TAB>Parse: … (ERROR …)" lines that follow trees with errors.
    text = re.sub(r"^[^(\s].*$", "", text, flags=re.M)
    starts = [m.start() for m in re.finditer(r"^\(", text, re.M)]
    trees = []
    for i, start in enumerate(starts):
        chunk = text[start : starts[i + 1] if i + 1 < len(starts) else len(text)]
        lines, depth, stack = [], 0, []
        for m in re.finditer(r'\(([A-Za-z_]+)|\)|"(?:[^"\\]|\\.)*"', chunk):
            tok = m.group(0)
            if tok.startswith("("):
                keep = m.group(1) not in DROP
                stack.append(keep)
                if keep:
                    lines.append("  " * depth + m.group(1))
                    depth += 1
            elif tok == ")" and stack:
                if stack.pop():
                    depth -= 1
        trees.append(lines)
    return trees


def ts_errors(path):
    files, current = {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line[0].isspace():
                current = line.strip()
                files.setdefault(current, 0)
            elif current is not None and "capture:" in line:
                files[current] += 1
    return files


def main():
    pest, ts, errors = pest_trees(sys.argv[1]), ts_trees(sys.argv[2]), ts_errors(sys.argv[3])
    if len(pest) != len(ts):
        sys.exit(f"compare-pest: {len(pest)} pest trees but {len(ts)} tree-sitter trees")
    problems = same = rejected = 0
    for (path, plines), tlines in zip(pest, ts):
        has_error = errors.get(path, 0) > 0
        if plines and plines[0].startswith("REJECTED"):
            if "not UTF-8" in plines[0]:
                continue
            if has_error:
                rejected += 1
            else:
                problems += 1
                print(f"{path}: pest rejects it ({plines[0][9:]}), tree-sitter parses it without errors")
            continue
        if has_error:
            problems += 1
            print(f"{path}: pest accepts it, tree-sitter's tree has an ERROR or MISSING node")
        elif plines != tlines:
            problems += 1
            pad = [""] * max(len(plines), len(tlines))
            for i, (a, b) in enumerate(zip(plines + pad, tlines + pad)):
                if a != b:
                    print(f"{path}: trees differ at node {i + 1}: pest `{a.strip()}`, tree-sitter `{b.strip()}`")
                    break
        else:
            same += 1
    print(f"compare-pest: {same} trees the same as pest's, {rejected} files rejected by both, {problems} differences")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
