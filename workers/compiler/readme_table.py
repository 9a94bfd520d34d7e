"""The README's table of supported operators, generated from the op table: `python -m
workers.compiler.readme_table` rewrites it, and a test keeps it current."""

from __future__ import annotations

import sys
from pathlib import Path

from workers.compiler.op_table import HANDLERS, INT16_HANDLERS, supported_ops

README = Path(__file__).parent / "README.md"
_TABLE_BEGIN, _TABLE_END = "<!-- supported-ops -->\n", "<!-- /supported-ops -->"


def readme_table() -> str:
    """The README's table of supported operators: for each, whether the compiler generates
    code for it with int8 and with int16 activations, or folds it away."""
    rows = [
        "| operator | int8 | int16 activations, int8 weights (16x8) |",
        "|---|---|---|",
    ]
    for name in supported_ops():
        if name in HANDLERS:
            rows.append(f"| {name} | yes | {'yes' if name in INT16_HANDLERS else 'no'} |")
        else:
            rows.append(f"| {name} | folded | folded |")
    return "\n".join(rows) + "\n"


def write_readme_table(readme: Path = README) -> bool:
    """Rewrites the table between the README's markers; True when it changed."""
    text = readme.read_text()
    head, rest = text.split(_TABLE_BEGIN, 1)
    tail = rest.split(_TABLE_END, 1)[1]
    updated = head + _TABLE_BEGIN + readme_table() + _TABLE_END + tail
    if updated != text:
        readme.write_text(updated)
    return updated != text


if __name__ == "__main__":
    changed = write_readme_table()
    sys.stdout.write(f"{README}: {'table rewritten' if changed else 'table already current'}\n")
