"""Structured JSON log lines that Cloud Logging understands; never secrets or stories."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def log(severity: str, message: str, **fields: Any) -> None:
    entry = {"severity": severity, "message": message, "time": round(time.time(), 3)}
    entry.update({key: value for key, value in fields.items() if value is not None})
    sys.stdout.write(json.dumps(entry, default=str) + "\n")
    sys.stdout.flush()


def info(message: str, **fields: Any) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("ERROR", message, **fields)
