"""Puts two runs of the benchmarks side by side: every number in each JSON of bench/results, as a
markdown table (before, after, after/before), so a change shows which figure it moved.

Run: `.venv/bin/python -m bench.compare BEFORE_RESULTS_DIR AFTER_RESULTS_DIR [--match TEXT]`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def numbers(value: object, prefix: str = "") -> dict[str, float]:
    """Every number under `value`, keyed by its path (lists of numbers: their count and mean)."""
    if isinstance(value, bool):
        return {}
    if isinstance(value, int | float):
        return {prefix: float(value)}
    if isinstance(value, dict):
        found: dict[str, float] = {}
        for key, item in value.items():
            found.update(numbers(item, f"{prefix}.{key}" if prefix else str(key)))
        return found
    if isinstance(value, list) and value and all(isinstance(x, int | float) and not isinstance(x, bool)
                                                 for x in value):
        return {f"{prefix}[n]": float(len(value)), f"{prefix}[mean]": sum(value) / len(value)}
    return {}


def table(before: Path, after: Path, match: str = "") -> str:
    rows = ["| benchmark | figure | before | after | after/before |", "|---|---|---|---|---|"]
    for path in sorted(after.glob("*.json")):
        old_path = before / path.name
        old = numbers(json.loads(old_path.read_text())) if old_path.is_file() else {}
        new = numbers(json.loads(path.read_text()))
        for key, value in new.items():
            if match and match not in key:
                continue
            was = old.get(key)
            ratio = f"{value / was:.2f}" if was not in (None, 0.0) else ""
            shown = "" if was is None else f"{was:g}"
            rows.append(f"| {path.stem} | {key} | {shown} | {value:g} | {ratio} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--match", default="", help="only figures whose path contains this")
    args = parser.parse_args()
    print(table(args.before, args.after, args.match))


if __name__ == "__main__":
    main()
