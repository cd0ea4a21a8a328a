"""Stages each function's self-contained deploy directory: build/<fn>/ = function + core.

Standard library only, so Terraform and CI can run it before anything is installed:
``python3 scripts/stage_functions.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import runpy
import shutil
import sys
from pathlib import Path

FUNCTIONS = ("orchestrator", "panel_worker", "exporter")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def stage(root: Path | None = None, out: Path | None = None) -> dict[str, Path]:
    """Copies functions/<fn> and functions/panelflow into out/<fn>; returns the directories."""
    root = root or repo_root()
    out = out or root / "build"
    staged = {}
    for name in FUNCTIONS:
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(root / "functions" / name, target, ignore=_IGNORE)
        shutil.copytree(root / "functions" / "panelflow", target / "panelflow", ignore=_IGNORE)
        if _letters(target):
            stage_fonts(root, target / "panelflow" / "lettering" / "fonts")
        staged[name] = target
    return staged


def _letters(bundle: Path) -> bool:
    """A function that letters images (it deploys with fontTools) needs the font files."""
    requirements = (bundle / "requirements.txt").read_text(encoding="utf-8").lower()
    return any(line.split("==")[0].strip() == "fonttools" for line in requirements.splitlines())


def stage_fonts(root: Path, target: Path) -> list[Path]:
    """Copies the lettering fonts (panelflow/lettering/font_files.py) into ``target`` from
    PANELFLOW_FONT_DIR or Debian's folders; a missing one is named on stderr (bootstrap
    installs them), and lettering then falls back to the next font that has the glyphs."""
    names = runpy.run_path(str(root / "functions/panelflow/lettering/font_files.py"))
    folders = [os.environ.get("PANELFLOW_FONT_DIR", ""), *names["SYSTEM_DIRS"]]
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in names["FONT_FILES"]:
        found = next((Path(f) / name for f in folders if f and (Path(f) / name).is_file()), None)
        if found is None:
            print(f"staging: font {name} not found; run scripts/bootstrap.sh", file=sys.stderr)
            continue
        shutil.copy2(found, target / name)
        copied.append(target / name)
    return copied


def digest(directory: Path) -> str:
    """A content hash of a staged directory (file names and bytes), for bundle names."""
    sha = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        sha.update(path.relative_to(directory).as_posix().encode() + b"\0")
        sha.update(path.read_bytes())
    return sha.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/)")
    args = parser.parse_args(argv)
    for name, directory in stage(out=args.out).items():
        print(f"{name}\t{directory}\t{digest(directory)[:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
