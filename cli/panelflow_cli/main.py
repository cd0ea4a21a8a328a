"""The ``panelflow`` command: up, down, status, generate, watch, jobs, demo, stage."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from panelflow_cli import staging
from panelflow_cli.client import DEFAULT_UID, ApiClient, ApiError, load_stack_env, state_dir
from panelflow_cli.follow import TERMINAL, ProgressBar, follow_job
from panelflow_cli.identity import Identity
from panelflow_cli.reader import write_reader
from panelflow_cli.stack import LocalStack, StackError, StackOptions, read_state, stop_recorded


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    directory = state_dir()
    if read_state(directory):
        _err(f"the local stack is already running (see {directory / 'local.env'})")
        return 0
    started = time.monotonic()
    options = StackOptions(state_dir=directory, panel_concurrency=args.concurrency)
    try:
        env = LocalStack(options).start()
    except StackError as error:
        _err(f"panelflow up failed: {error}")
        return 1
    elapsed = time.monotonic() - started
    _err(f"local stack up in {elapsed:.1f} s; environment in {directory / 'local.env'}")
    _err(f"API: {env['PANELFLOW_API_URL']}")
    _err(f"Web: {env.get('PANELFLOW_WEB_URL', 'off')}")
    return 0


def cmd_down(_args: argparse.Namespace) -> int:
    if stop_recorded(state_dir()):
        _err("local stack stopped")
    else:
        _err("no local stack is running")
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    state = read_state(state_dir())
    if not state:
        _err("no local stack is running")
        return 1
    print(json.dumps(state, indent=2))
    return 0


def _client(args: argparse.Namespace) -> ApiClient:
    env = load_stack_env()
    base = os.environ.get("PANELFLOW_API_URL") or env["PANELFLOW_API_URL"]
    identity = Identity(
        emulator_host=env["FIREBASE_AUTH_EMULATOR_HOST"], project_id=env["GOOGLE_CLOUD_PROJECT"]
    )
    token = identity.token_for(args.uid)
    return ApiClient(base, token=lambda: token)


def _read_story(args: argparse.Namespace) -> str:
    if args.file:
        return Path(args.file).read_text(encoding="utf-8")
    if args.text in (None, "-"):
        if sys.stdin.isatty() and args.text is None:
            raise SystemExit("give the story as TEXT, --file F, or on standard input")
        return sys.stdin.read()
    return str(args.text)


def _summary(job: dict[str, Any], reader: Path | None) -> dict[str, Any]:
    panels = job.get("panels") or []
    return {
        "jobId": job["jobId"],
        "status": job["status"],
        "panels": int(job.get("panelCount") or len(panels)),
        "panelsDone": sum(1 for panel in panels if panel.get("status") == "done"),
        "panelsFailed": sum(1 for panel in panels if panel.get("status") == "failed"),
        "reader": str(reader.resolve()) if reader else None,
    }


def _print(line: str) -> None:
    print(line, flush=True)


def _finish(
    client: ApiClient, job_id: str, args: argparse.Namespace, emit: Callable[[str], None] = _print
) -> int:
    """Follows a job to its end, writes the reader, prints the summary; exit 0 if completed."""
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "demo-panelflow")
    bar = ProgressBar() if not args.quiet else (lambda _progress: None)
    progress = follow_job(project, job_id, bar, timeout=args.timeout)
    if progress.status not in TERMINAL:
        _err(
            f"job {job_id} is still {progress.status} after {args.timeout:.0f} s; "
            f"'panelflow watch {job_id}' picks it up again"
        )
    job = client.get_job(job_id)
    reader = None
    if job["status"] in TERMINAL and job.get("panels"):
        reader = write_reader(job, state_dir() / "jobs" / job_id)
        _err(f"reader: {reader.resolve()}")
    if job.get("error"):
        _err(f"job error: {job['error'].get('message')}")
    for panel in job.get("panels", []):
        if panel.get("status") == "failed":
            _err(f"panel {panel['index'] + 1} failed: {(panel.get('error') or {}).get('message')}")
    summary = _summary(job, reader)
    if args.json:
        emit(json.dumps(summary))
    else:
        emit(
            f"{summary['jobId']}: {summary['status']}, "
            f"{summary['panelsDone']}/{summary['panels']} panels done"
        )
    return 0 if job["status"] == "completed" else 1


def cmd_generate(args: argparse.Namespace, emit: Callable[[str], None] = _print) -> int:
    try:
        client = _client(args)
        story = _read_story(args)
        created = client.start_job(
            story, panels=args.panels, style=args.style, language=args.language
        )
    except FileNotFoundError as error:
        _err(str(error))
        return 1
    except ApiError as error:
        for item in error.body.get("error", {}).get("errors", []) or [error.body.get("error", {})]:
            _err(f"rejected: {item.get('field', '')}: {item.get('reason') or item.get('message')}")
        if args.json:
            emit(json.dumps({"error": error.body.get("error"), "status": error.status}))
        return 2
    job_id = created["jobId"]
    _err(f"job {job_id} queued")
    if not args.follow:
        if args.json:
            emit(
                json.dumps(
                    {
                        "jobId": job_id,
                        "status": created["status"],
                        "panels": args.panels,
                        "panelsDone": 0,
                        "panelsFailed": 0,
                        "reader": None,
                    }
                )
            )
        else:
            emit(job_id)
        return 0
    return _finish(client, job_id, args, emit)


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        client = _client(args)
        client.get_job(args.job_id)
    except (FileNotFoundError, ApiError) as error:
        _err(str(error))
        return 1
    return _finish(client, args.job_id, args)


def cmd_jobs(args: argparse.Namespace) -> int:
    try:
        jobs = _client(args).list_jobs(args.limit)
    except (FileNotFoundError, ApiError) as error:
        _err(str(error))
        return 1
    if args.json:
        print(json.dumps(jobs))
        return 0
    for job in jobs:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.get("createdAt") or 0))
        print(
            f"{job['jobId']}  {created}  {job['status']:<10} {job.get('panelCount', 0):>3} panels  "
            f"{job.get('title', '')}"
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """up → generate the bundled story with a live bar → reader → down; the JSON line last."""
    directory = state_dir()
    owned = not read_state(directory)
    started = time.monotonic()
    held: list[str] = []
    if owned:
        code = cmd_up(argparse.Namespace(concurrency=args.concurrency))
        if code:
            return code
    try:
        story = resources.files("panelflow_cli").joinpath("samples/lighthouse.txt").read_text()
        generate = argparse.Namespace(
            uid=args.uid,
            text=story,
            file=None,
            panels=args.panels,
            style=args.style,
            language="en",
            follow=True,
            json=True,
            quiet=False,
            timeout=args.timeout,
        )
        # The summary line is held back so that it is printed last, after the stack stops.
        code = cmd_generate(generate, emit=held.append)
    finally:
        if owned:
            stop_recorded(directory)
            _err("local stack stopped")
    _err(f"demo finished in {time.monotonic() - started:.1f} s")
    for line in held:
        _print(line)
    return code


def cmd_stage(args: argparse.Namespace) -> int:
    return staging.main(["--out", args.out] if args.out else [])


def cmd_doctor(args: argparse.Namespace) -> int:
    from panelflow_cli import doctor

    return doctor.main(as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="panelflow", description="Story in, narrated comic out.")
    parser.add_argument(
        "--uid",
        default=os.environ.get("PANELFLOW_UID", DEFAULT_UID),
        help="user id for local tokens (default: %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the local stack and write .panelflow/local.env")
    up.add_argument("--concurrency", type=int, default=16, help="panels in flight")
    up.set_defaults(run=cmd_up)
    sub.add_parser("down", help="stop the local stack").set_defaults(run=cmd_down)
    sub.add_parser("status", help="show the running local stack").set_defaults(run=cmd_status)

    def job_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--json", action="store_true", help="end with one JSON line")
        command.add_argument("--quiet", action="store_true", help="no progress bar")
        command.add_argument("--timeout", type=float, default=600.0, help="seconds to follow")

    generate = sub.add_parser("generate", help="start a comic from a story")
    generate.add_argument("text", nargs="?", help="the story ('-' or nothing: standard input)")
    generate.add_argument("--file", "-f", help="read the story from a file")
    generate.add_argument("--panels", "-n", type=int, default=None, help="number of panels")
    generate.add_argument(
        "--style", default=None, help="storybook, manga, noir, watercolor, pop-art"
    )
    generate.add_argument("--language", default=None, help="language code (default en)")
    generate.add_argument("--follow", action="store_true", help="show live progress until done")
    job_options(generate)
    generate.set_defaults(run=cmd_generate)

    watch = sub.add_parser("watch", help="follow a job (from any device) until it ends")
    watch.add_argument("job_id")
    job_options(watch)
    watch.set_defaults(run=cmd_watch)

    jobs = sub.add_parser("jobs", help="list your jobs, newest first")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.add_argument("--json", action="store_true")
    jobs.set_defaults(run=cmd_jobs)

    demo = sub.add_parser("demo", help="up, generate the bundled story, write the reader, down")
    demo.add_argument("--panels", type=int, default=8)
    demo.add_argument("--style", default="storybook")
    demo.add_argument("--concurrency", type=int, default=16)
    demo.add_argument("--timeout", type=float, default=150.0)
    demo.set_defaults(run=cmd_demo)

    doctor = sub.add_parser("doctor", help="check Google credentials, models and voices")
    doctor.add_argument("--json", action="store_true", help="one JSON object")
    doctor.set_defaults(run=cmd_doctor)

    stage = sub.add_parser("stage", help="stage build/<fn>/ deploy directories")
    stage.add_argument("--out", default=None)
    stage.set_defaults(run=cmd_stage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
