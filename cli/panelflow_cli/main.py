"""The ``panelflow`` command: up, down, status, login, logout, whoami, generate, watch, show,
jobs, demo, stage."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import getpass
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from panelflow_cli import staging
from panelflow_cli.client import (
    ApiClient,
    ApiError,
    ApiUnreachable,
    TargetError,
    resolve_target,
    state_dir,
)
from panelflow_cli.credentials import (
    CredentialsError,
    CredentialStore,
    SignedIn,
    Target,
    is_stale_login,
    project_of,
)
from panelflow_cli.follow import TERMINAL, Progress, ProgressBar, follow_job
from panelflow_cli.identity import IdentityError, Session
from panelflow_cli.reader import write_reader
from panelflow_cli.stack import LocalStack, StackError, StackOptions, read_state, stop_recorded
from panelflow_cli.terminal import json_line, printable


def _err(message: str) -> None:
    # Messages carry text from the API (errors written by models, titles): never raw.
    print(printable(message), file=sys.stderr, flush=True)


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


class CliError(RuntimeError):
    """A command cannot go on; the message says why and what to do."""


# What a command may fail with that is the user's to fix: one readable line, exit 1.
READABLE_ERRORS = (
    CliError,
    CredentialsError,
    IdentityError,
    ApiUnreachable,
    TargetError,
    FileNotFoundError,
)


def _target(args: argparse.Namespace) -> Target:
    """The API and project to use: options, then environment, then the running local stack."""
    return resolve_target(
        api_url=getattr(args, "api_url", None) or os.environ.get("PANELFLOW_API_URL"),
        api_key=getattr(args, "api_key", None) or os.environ.get("PANELFLOW_WEB_API_KEY"),
        project=getattr(args, "project", None) or os.environ.get("GOOGLE_CLOUD_PROJECT"),
    )


def _chosen_uid(args: argparse.Namespace, target: Target) -> str | None:
    uid = getattr(args, "uid", None) or os.environ.get("PANELFLOW_UID")
    if uid and not target.local:
        raise CliError("--uid and PANELFLOW_UID work on the local stack only: 'panelflow login'")
    return uid or None


def _new_guest(store: CredentialStore, target: Target) -> Session:
    session = target.identity().sign_up_anonymously()
    store.put(target, session)
    _err(f"signed in as a new guest (uid {session.uid}); 'panelflow login' to use an account")
    return session


def _signed_in(args: argparse.Namespace, target: Target, *, guest: bool = True) -> SignedIn | None:
    """Who the commands act as: ``--uid`` on the local stack, else the stored login.

    With nobody logged in, the local stack signs a guest in (and stores it), so a demo needs
    nothing typed; a deployed API needs 'panelflow login'. ``guest=False`` returns None then.
    """
    uid = _chosen_uid(args, target)
    if uid:
        identity = target.identity()
        return SignedIn(target, identity.session_for(uid), identity=identity)
    store = CredentialStore()
    found = store.find(target)
    if found is None:
        if not guest:
            return None
        if not target.local:
            raise CliError(f"not logged in to {target.describe()}: run 'panelflow login'")
        session = _new_guest(store, target)
    else:
        # The stored login names the project when the command line did not.
        target, session = found
    signed = SignedIn(target, session, store=store)
    try:
        signed()
    except IdentityError as error:
        if not is_stale_login(error):
            raise
        if not (target.local and session.anonymous and guest):
            raise CliError(f"{error}: run 'panelflow login'") from error
        # A guest of an earlier local stack on the same port: the emulator has forgotten it.
        signed = SignedIn(target, _new_guest(store, target), store=store)
    return signed


def _connect(args: argparse.Namespace) -> tuple[Target, ApiClient]:
    target = _target(args)
    signed = _signed_in(args, target)
    if signed is None:  # only when guest=False; kept for the type checker
        raise CliError(f"not logged in to {target.describe()}: run 'panelflow login'")
    return signed.target, ApiClient(signed.target.api_url, token=signed)


def _client(args: argparse.Namespace) -> ApiClient:
    return _connect(args)[1]


def _ask_email(args: argparse.Namespace) -> str:
    if args.email:
        return str(args.email)
    if args.password_stdin or not sys.stdin.isatty():
        raise CliError("give the account's email with --email")
    sys.stderr.write("Email: ")
    sys.stderr.flush()
    return sys.stdin.readline().strip()


def _ask_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password on: pipe it to --password-stdin")
    return getpass.getpass("Password: ")


def _stored_guest(store: CredentialStore, target: Target) -> SignedIn | None:
    """The guest signed in on ``target``, if any and still valid: sign-up upgrades it."""
    try:
        session = store.get(target)
        if session is None or not session.anonymous:
            return None
        signed = SignedIn(target, session, store=store)
        signed()
        return signed
    except (CredentialsError, IdentityError):
        return None


def cmd_login(args: argparse.Namespace) -> int:
    target = _target(args)
    identity = target.identity()
    store = CredentialStore()
    if args.guest:
        if args.email or args.sign_up or args.password_stdin:
            raise CliError("--guest takes no email, password or --sign-up")
        session = identity.sign_up_anonymously()
    else:
        email, password = _ask_email(args), _ask_password(args)
        guest = _stored_guest(store, target) if args.sign_up else None
        if guest is not None:
            # The guest becomes the account: same uid, so its comics stay with it.
            session = identity.link_email(guest.session, email, password)
        elif args.sign_up:
            session = identity.sign_up(email, password)
        else:
            session = identity.sign_in(email, password)
    if not target.project:
        target = dataclasses.replace(target, project=project_of(session.id_token))
    store.put(target, session)
    who = session.email or "a guest"
    _err(f"logged in as {who} (uid {session.uid}) on {target.describe()}")
    chosen = getattr(args, "uid", None) or os.environ.get("PANELFLOW_UID")
    if chosen and target.local:
        _err(f"note: --uid/PANELFLOW_UID is set, so commands act as {chosen} until it is unset")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    store = CredentialStore()
    if args.all:
        removed = store.remove_all()
        _err(f"deleted {store.path}" if removed else "nobody was logged in")
        return 0
    target = _target(args)
    try:
        removed = store.remove(target)
    except CredentialsError:
        # A damaged file cannot be edited: deleting it is the way out.
        store.remove_all()
        _err(f"deleted the damaged {store.path}")
        return 0
    _err(f"logged out of {target.describe()}" if removed else "nobody was logged in there")
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    target = _target(args)
    signed = _signed_in(args, target, guest=False)
    if signed is None:
        hint = "a guest is signed in on first use" if target.local else "run 'panelflow login'"
        _err(f"not logged in to {target.describe()}: {hint}")
        return 1
    session, target = signed.session, signed.target
    who = {
        "uid": session.uid,
        "user": "guest" if session.anonymous else session.email,
        "api": target.api_url,
        "project": target.project,
        "localStack": target.local,
    }
    if args.json:
        print(json.dumps(who))
    else:
        print(f"uid:     {printable(who['uid'])}")
        print(f"user:    {printable(who['user'])}")
        print(f"api:     {target.api_url}{' (local stack)' if target.local else ''}")
        print(f"project: {target.project}")
    return 0


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
    print(printable(line), flush=True)


def _poll_job(
    client: ApiClient,
    job_id: str,
    on_change: Callable[[Progress], None],
    timeout: float,
    interval: float = 2.0,
) -> Progress:
    """Progress by reading the job every ``interval`` seconds: for a deployed API, where the
    CLI has no Firestore listener of its own."""
    progress = Progress()
    deadline = time.monotonic() + timeout
    while True:
        progress.job = client.get_job(job_id)
        progress.panels = {int(panel["index"]): panel for panel in progress.job.get("panels", [])}
        on_change(progress)
        if progress.status in TERMINAL or time.monotonic() >= deadline:
            return progress
        time.sleep(interval)


def _finish(
    client: ApiClient,
    target: Target,
    job_id: str,
    args: argparse.Namespace,
    emit: Callable[[str], None] = _print,
) -> int:
    """Follows a job to its end, writes the reader, prints the summary; exit 0 if completed."""
    bar = ProgressBar() if not args.quiet else (lambda _progress: None)
    if target.local:
        progress = follow_job(target.project, job_id, bar, timeout=args.timeout)
    else:
        progress = _poll_job(client, job_id, bar, timeout=args.timeout)
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
    target, client = _connect(args)
    story = _read_story(args)
    # One key per invocation: the client's retry of this create reuses it.
    idempotency_key = str(uuid.uuid4())
    try:
        created = client.start_job(
            story,
            idempotency_key=idempotency_key,
            panels=args.panels,
            style=args.style,
            language=args.language,
            styleText=getattr(args, "style_text", None),
        )
    except ApiError as error:
        for item in error.body.get("error", {}).get("errors", []) or [error.body.get("error", {})]:
            field = f"{item['field']}: " if item.get("field") else ""
            _err(f"rejected: {field}{item.get('reason') or item.get('message')}")
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
    return _finish(client, target, job_id, args, emit)


def cmd_watch(args: argparse.Namespace) -> int:
    target, client = _connect(args)
    try:
        client.get_job(args.job_id)
    except ApiError as error:
        _err(str(error))
        return 1
    return _finish(client, target, args.job_id, args)


def _fetch(args: argparse.Namespace, call: Callable[[ApiClient], Any]) -> Any:
    """One API call with the command's client; prints the API's refusal and returns None."""
    try:
        return call(_client(args))
    except ApiError as error:
        _err(str(error))
        return None


def cmd_show(args: argparse.Namespace) -> int:
    """The job exactly as ``GET /jobs/{jobId}`` returns it, as JSON."""
    job = _fetch(args, lambda client: client.get_job(args.job_id))
    if job is None:
        return 1
    if args.compact:
        print(json_line(job, separators=(",", ":"), ensure_ascii=False))
    else:
        print(json_line(job, indent=2, ensure_ascii=False))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Deletes one job with everything stored for it; again (or not yours): an error."""
    client = _client(args)
    try:
        client.delete_job(args.job_id)
    except ApiError as error:
        _err(str(error))
        return 1
    _err(f"deleted job {args.job_id} and everything stored for it")
    return 0


def cmd_delete_account(args: argparse.Namespace) -> int:
    """Deletes the signed-in account, every job of it and its sign-in; needs --yes."""
    if not args.yes:
        _err(
            "this deletes your account, every comic in it and your sign-in, for good: "
            "run 'panelflow delete-account --yes' to go ahead"
        )
        return 2
    target, client = _connect(args)
    try:
        client.delete_account()
    except ApiError as error:
        _err(str(error))
        return 1
    with contextlib.suppress(CredentialsError):
        CredentialStore().remove(target)  # the account is gone: so is its sign-in here
    _err(f"deleted your account and everything stored for it on {target.describe()}")
    return 0


def _edit_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The PATCH body from the command's options; ``--say`` lines replace the dialogue."""
    changes: dict[str, Any] = {}
    for option, field in (
        ("caption", "caption"),
        ("narration", "narration"),
        ("prompt", "imagePrompt"),
    ):
        value = getattr(args, option)
        if value is not None:
            changes[field] = value
    if args.say is not None:
        lines = []
        for said in args.say:
            speaker, colon, text = said.partition(":")
            if not colon:
                raise SystemExit(f'--say needs "Speaker: text", got {printable(said)!r}')
            lines.append({"speaker": speaker.strip(), "text": text.strip()})
        changes["dialogue"] = lines
    return changes


def cmd_edit(args: argparse.Namespace) -> int:
    """Edits one panel; only what changed is made again (words: speech, prompt: image)."""
    changes = _edit_changes(args)
    if not changes:
        _err("nothing to change: give --caption, --narration, --say or --prompt")
        return 2
    if args.panel < 1:
        _err("PANEL counts from 1")
        return 2
    try:
        panel = _client(args).edit_panel(args.job_id, args.panel - 1, changes)
    except ApiError as error:
        for item in error.body.get("error", {}).get("errors", []) or [error.body.get("error", {})]:
            field = f"{item['field']}: " if item.get("field") else ""
            _err(f"rejected: {field}{item.get('reason') or item.get('message')}")
        return 2 if error.status == 400 else 1
    _err(f"panel {args.panel} edited; redoing: {panel['redo']}")
    print(json_line({"jobId": args.job_id, "panel": args.panel, "redo": panel["redo"]}))
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    """Starts a translated copy of a completed comic (its images reused); prints its id."""
    created = _fetch(args, lambda client: client.translate(args.job_id, args.language))
    if created is None:
        return 1
    _err(f"translation {created['jobId']} queued ({args.language})")
    print(created["jobId"])
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    jobs = _fetch(args, lambda client: client.list_jobs(args.limit))
    if jobs is None:
        return 1
    if args.json:
        print(json_line(jobs))
        return 0
    for job in jobs:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.get("createdAt") or 0))
        line = (
            f"{job['jobId']}  {created}  {job['status']:<10} {job.get('panelCount', 0):>3} panels  "
            f"{job.get('title', '')}"
        )
        print(printable(line, one_line=True))
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
            **{
                **vars(args),
                "text": story,
                "file": None,
                "language": "en",
                "follow": True,
                "json": True,
                "quiet": False,
            }
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


def _connection_options(*, inherited: bool) -> argparse.ArgumentParser:
    """--api-url, --api-key, --project, --uid: accepted before or after the command name."""
    options = argparse.ArgumentParser(add_help=False)
    # After the command name they override the ones before it only when given.
    default = argparse.SUPPRESS if inherited else None
    options.add_argument(
        "--api-url",
        default=default,
        help="the API to use (env PANELFLOW_API_URL; default: the running local stack)",
    )
    options.add_argument(
        "--api-key",
        default=default,
        help="the web app's Firebase API key, for a deployed API (env PANELFLOW_WEB_API_KEY)",
    )
    options.add_argument(
        "--project",
        default=default,
        help="the deployed API's Firebase project (env GOOGLE_CLOUD_PROJECT; default: the "
        "one the sign-in names)",
    )
    options.add_argument(
        "--uid",
        default=default,
        help="local stack only: act as this Auth emulator user, created if needed, instead "
        "of the logged-in one (env PANELFLOW_UID)",
    )
    return options


def _add_delete_commands(sub: Any, connection: argparse.ArgumentParser) -> None:
    delete = sub.add_parser(
        "delete", parents=[connection], help="delete a job and everything stored for it"
    )
    delete.add_argument("job_id")
    delete.set_defaults(run=cmd_delete)
    delete_account = sub.add_parser(
        "delete-account",
        parents=[connection],
        help="delete your account, every job in it and your sign-in (asks for --yes)",
    )
    delete_account.add_argument("--yes", action="store_true", help="yes, delete it all")
    delete_account.set_defaults(run=cmd_delete_account)


def _add_edit_commands(sub: Any, connection: argparse.ArgumentParser) -> None:
    edit = sub.add_parser(
        "edit",
        parents=[connection],
        help="change a panel's words or image prompt; only what changed is made again",
    )
    edit.add_argument("job_id")
    edit.add_argument("panel", type=int, help="the panel's number, from 1")
    edit.add_argument("--caption", help="the caption")
    edit.add_argument("--narration", help="the narration read aloud")
    edit.add_argument(
        "--say",
        action="append",
        metavar='"SPEAKER: TEXT"',
        help="a dialogue line (repeat for more; together they replace the panel's lines)",
    )
    edit.add_argument("--prompt", help="the image prompt (the panel is drawn again)")
    edit.set_defaults(run=cmd_edit)
    translate = sub.add_parser(
        "translate",
        parents=[connection],
        help="make a completed comic again in another language, reusing its images",
    )
    translate.add_argument("job_id")
    translate.add_argument("language", help="language code, e.g. fr")
    translate.set_defaults(run=cmd_translate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panelflow",
        description="Story in, narrated comic out.",
        parents=[_connection_options(inherited=False)],
    )
    connection = _connection_options(inherited=True)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the local stack and write .panelflow/local.env")
    up.add_argument("--concurrency", type=int, default=16, help="panels in flight")
    up.set_defaults(run=cmd_up)
    sub.add_parser("down", help="stop the local stack").set_defaults(run=cmd_down)
    sub.add_parser("status", help="show the running local stack").set_defaults(run=cmd_status)

    login = sub.add_parser("login", parents=[connection], help="sign in and remember it")
    login.add_argument("--email", help="the account's email (asked when not given)")
    login.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    login.add_argument(
        "--sign-up",
        action="store_true",
        help="create the account (a signed-in guest becomes it and keeps its comics)",
    )
    login.add_argument("--guest", action="store_true", help="sign in as a new guest")
    login.set_defaults(run=cmd_login)

    logout = sub.add_parser("logout", parents=[connection], help="forget the stored sign-in")
    logout.add_argument("--all", action="store_true", help="forget every stored sign-in")
    logout.set_defaults(run=cmd_logout)

    whoami = sub.add_parser("whoami", parents=[connection], help="who the commands act as, where")
    whoami.add_argument("--json", action="store_true", help="one JSON line")
    whoami.set_defaults(run=cmd_whoami)

    def job_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--json", action="store_true", help="end with one JSON line")
        command.add_argument("--quiet", action="store_true", help="no progress bar")
        command.add_argument("--timeout", type=float, default=600.0, help="seconds to follow")

    generate = sub.add_parser("generate", parents=[connection], help="start a comic from a story")
    generate.add_argument("text", nargs="?", help="the story ('-' or nothing: standard input)")
    generate.add_argument("--file", "-f", help="read the story from a file")
    generate.add_argument("--panels", "-n", type=int, default=None, help="number of panels")
    generate.add_argument(
        "--style", default=None, help="storybook, manga, noir, watercolor, pop-art, custom"
    )
    generate.add_argument(
        "--style-text", default=None, help="with --style custom: the look, in your words"
    )
    generate.add_argument("--language", default=None, help="language code (default en)")
    generate.add_argument("--follow", action="store_true", help="show live progress until done")
    job_options(generate)
    generate.set_defaults(run=cmd_generate)

    watch = sub.add_parser(
        "watch", parents=[connection], help="follow a job (from any device) until it ends"
    )
    watch.add_argument("job_id")
    job_options(watch)
    watch.set_defaults(run=cmd_watch)

    show = sub.add_parser("show", parents=[connection], help="print a job as the API returns it")
    show.add_argument("job_id")
    show.add_argument("--compact", action="store_true", help="one line instead of indented")
    show.set_defaults(run=cmd_show)

    _add_delete_commands(sub, connection)
    _add_edit_commands(sub, connection)

    jobs = sub.add_parser("jobs", parents=[connection], help="list your jobs, newest first")
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
    try:
        return int(args.run(args))
    except READABLE_ERRORS as error:
        _err(f"panelflow {args.command}: {error}")
        return 1
    except BrokenPipeError:
        # The reader went away (`panelflow show ID | head`): not an error worth a trace.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
