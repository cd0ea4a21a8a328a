#!/usr/bin/env python3
"""Stage build/<fn>/ for every function (see cli/panelflow_cli/staging.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from panelflow_cli.staging import main

raise SystemExit(main(sys.argv[1:]))
