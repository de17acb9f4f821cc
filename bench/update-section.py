#!/usr/bin/env python3
"""Replace one '## ' section of a Markdown file with stdin, or append it when absent.

usage: update-section.py FILE 'HEADING'   (HEADING without the '## ')

The section runs from its '## HEADING' line up to the next '## ' line or the end of the file;
other sections are left alone, so several scripts and people can share docs/BENCHMARKS.md.
"""

import sys


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: update-section.py FILE HEADING < section.md", file=sys.stderr)
        return 2
    path, heading = sys.argv[1], sys.argv[2]
    body = sys.stdin.read().rstrip("\n") + "\n"
    if not body.startswith(f"## {heading}\n"):
        print(f"update-section.py: stdin must start with '## {heading}'", file=sys.stderr)
        return 2
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines(keepends=True)
    except FileNotFoundError:
        lines = ["# Benchmarks\n"]
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == f"## {heading}"), None)
    if start is None:
        while lines and not lines[-1].strip():
            lines.pop()
        out = lines + ["\n", body]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        tail = lines[end:]
        out = lines[:start] + [body] + (["\n"] + tail if tail else [])
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
