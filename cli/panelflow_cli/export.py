"""``panelflow export JOB_ID --format pdf|cbz|mp4``: ask for an export, follow its progress,
download it; the last line printed is the written file's absolute path."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from panelflow_cli.client import ApiClient, ApiError
from panelflow_cli.terminal import printable


def add_export_command(
    sub: Any, connection: argparse.ArgumentParser, run: Callable[..., int]
) -> None:
    export = sub.add_parser(
        "export",
        parents=[connection],
        help="export a finished comic as PDF, CBZ or MP4 and download it",
    )
    export.add_argument("job_id")
    # The API checks format and layout (one list, the server's): a bad one is its 400.
    export.add_argument("--format", required=True, help="pdf, cbz or mp4")
    export.add_argument(
        "--layout",
        default=None,
        help="grid (2x2, the default), strip (three rows), single (one a page), "
        "manga (2x2, right to left); a video is always single",
    )
    export.add_argument(
        "--panels",
        type=_panel_list,
        default=None,
        help="panel indexes in the order to show them, e.g. 1,3,2 (others are hidden)",
    )
    export.add_argument(
        "-o", "--output", default=None, help="file to write (default: ./<title>-<layout>.<format>)"
    )
    export.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for the export"
    )
    export.set_defaults(run=run)


def _panel_list(text: str) -> list[int]:
    try:
        panels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of panel indexes") from None
    if not panels:
        raise argparse.ArgumentTypeError("name at least one panel")
    return panels


def run_export(
    client: ApiClient,
    args: argparse.Namespace,
    *,
    emit: Callable[[str], None],
    report: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """The command's work: POST, follow, download. Progress goes to ``report`` (stderr),
    the written file's absolute path to ``emit`` (stdout), last."""
    try:
        export = client.start_export(args.job_id, args.format, args.layout, args.panels)
    except ApiError as error:
        report(_refusal(error, args.job_id))
        return 1
    export_id = export["exportId"]
    count = len(export["panels"])
    report(f"export {export_id}: {export['format']}, {export['layout']} layout, {count} panels")
    deadline = time.monotonic() + args.timeout
    shown = ""
    while export["status"] not in ("done", "failed"):
        line = f"{export['status']} {round(100 * float(export.get('progress') or 0))}%"
        if line != shown:
            report(line)
            shown = line
        if time.monotonic() > deadline:
            report(f"no end within {args.timeout:.0f} s; run the command again to resume")
            return 1
        sleep(0.5)
        export = client.get_export(args.job_id, export_id)
    if export["status"] == "failed":
        reason = (export.get("error") or {}).get("message", "no reason given")
        report(f"the export failed: {reason}")
        return 1
    report(f"done 100% ({export['size']} bytes); downloading")
    target = Path(args.output or _default_name(client, args, export)).expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    client.download(export["url"], target)
    emit(str(target))
    return 0


def _refusal(error: ApiError, job_id: str) -> str:
    body = error.body.get("error", {}) if isinstance(error.body, dict) else {}
    if error.status == 409:
        return f"job {job_id} is not finished: {body.get('message', '')}".strip()
    if error.status == 400:
        reasons = [f"{item['field']}: {item['reason']}" for item in body.get("errors", [])]
        return "the export was refused: " + ("; ".join(reasons) or str(body.get("message", "")))
    return str(error)


def _default_name(client: ApiClient, args: argparse.Namespace, export: dict[str, Any]) -> str:
    title = ""
    with contextlib.suppress(ApiError):
        title = str(client.get_job(args.job_id).get("title") or "")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:60] or args.job_id
    return f"{slug}-{export['layout']}.{export['format']}"


def print_progress(line: str) -> None:
    print(printable(line), file=sys.stderr, flush=True)
