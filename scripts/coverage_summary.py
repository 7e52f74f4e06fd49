#!/usr/bin/env python3
"""Prints gcovr's JSON summary (--json-summary) per module folder of src/ and for src/ in
total: covered/total lines and branches and their percentages.
usage: coverage_summary.py SUMMARY.json"""
import json
import sys


def pct(covered, total):
    return f"{100.0 * covered / total:5.1f}%" if total else "    -"


def main(path):
    with open(path, encoding="utf-8") as f:
        files = json.load(f)["files"]
    folders = {}
    for entry in files:
        parts = entry["filename"].split("/")
        key = "/".join(parts[:2]) if len(parts) > 2 else parts[0]
        acc = folders.setdefault(key, [0, 0, 0, 0])
        acc[0] += entry["line_covered"]
        acc[1] += entry["line_total"]
        acc[2] += entry["branch_covered"]
        acc[3] += entry["branch_total"]
    total = [sum(a[i] for a in folders.values()) for i in range(4)]
    print(f"{'coverage':<16}{'lines':>22}{'branches':>22}")
    for name, a in sorted(folders.items()) + [("src/ (total)", total)]:
        print(f"{name:<16}{a[0]:>7}/{a[1]:<7}{pct(a[0], a[1]):>8}"
              f"{a[2]:>7}/{a[3]:<7}{pct(a[2], a[3]):>8}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
