"""The README's Configuration table, generated from the settings table.

``python -m panelflow.settings --markdown`` prints it; ``--write README.md`` replaces the
table in that file (from its ``| variable | default | meaning |`` header to the first line
that is not a table row).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from panelflow.settings import table

HEADER = "| variable | default | meaning |"


def readme_table(readme: str) -> str:
    """The Configuration table as written in the README ("" when it has none)."""
    lines = readme.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == HEADER), None)
    if start is None:
        return ""
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "".join(lines[start:end])


def with_table(readme: str, markdown: str) -> str:
    current = readme_table(readme)
    if not current:
        raise ValueError(f"no table starting {HEADER!r}")
    return readme.replace(current, markdown, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m panelflow.settings", description="The settings table, as documentation."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--markdown", action="store_true", help="print the README's table")
    action.add_argument("--write", type=Path, metavar="README", help="replace the table there")
    arguments = parser.parse_args(argv)
    if arguments.write:
        path: Path = arguments.write
        path.write_text(with_table(path.read_text(encoding="utf-8"), table.markdown()), "utf-8")
    else:
        sys.stdout.write(table.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
