#!/usr/bin/env python3
"""Upload the web client to the deployment's Firebase Hosting site.

The site is staged in build/hosting/ and uploaded with `firebase deploy --only hosting`:

- public/: web/index.html, styles.css, manifest.webmanifest, icons/, src/ and sw.js (its
  version written in: a hash of the shell, as the local web server does), plus the Firebase
  SDK's ES module files the page's import map names and every file they import relatively
  (nothing else of node_modules: Hosting would otherwise upload the whole package tree);
- public/config.json, written from Terraform's `web_config` output (scripts/web_config.py);
- firebase.json: infra/hosting/firebase.json with the site from Terraform's `hosting_site`.

    python3 scripts/deploy_web.py --terraform-dir infra/terraform
    python3 scripts/deploy_web.py --outputs outputs.json --dry-run    # stage only

Needs `npm ci` in web/ first and the Firebase CLI: the one pinned in emulators/ (both are
installed by scripts/bootstrap.sh), else `firebase` on PATH, else `npx firebase-tools` at
the pinned version; signed in with `firebase login` or application default credentials
that may deploy to the project.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import web_config  # the sibling script, importable once its folder is on the path
from panelflow_cli.webserver import service_worker

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
HOSTING_CONFIG = ROOT / "infra" / "hosting" / "firebase.json"
STAGE = ROOT / "build" / "hosting"
# The Firebase CLI the local stack already pins for its Auth emulator (scripts/bootstrap.sh
# installs it), so deploys use the same version.
EMULATORS = ROOT / "emulators"

_IMPORT_MAP = re.compile(r'<script type="importmap">\s*(\{.*?\})\s*</script>', re.DOTALL)
# `from './x.js'`, `import './x.js'` and `import('./x.js')`: files a module loads beside it.
_RELATIVE_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]""")
# Comments mention imports too (JSDoc's `import('./x.js').Type`): they are dropped first.
_COMMENTS = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.DOTALL | re.MULTILINE)


class DeployError(Exception):
    """The site cannot be staged or uploaded."""


def import_map_targets(index_html: str) -> list[str]:
    match = _IMPORT_MAP.search(index_html)
    if match is None:
        raise DeployError("web/index.html has no import map")
    imports = json.loads(match.group(1)).get("imports", {})
    return sorted(set(imports.values()))


def module_closure(web: Path, entries: Iterable[str]) -> list[Path]:
    """The entry files and every file they import by relative path, transitively."""
    pending = [(web / entry).resolve() for entry in entries]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        if not path.is_file():
            raise DeployError(f"{path.relative_to(web.resolve())} is missing: run 'npm ci' in web/")
        seen.add(path)
        code = _COMMENTS.sub("", path.read_text(errors="replace"))
        for target in _RELATIVE_IMPORT.findall(code):
            pending.append((path.parent / target).resolve())
    return sorted(seen)


def stage_site(
    web: Path, stage: Path, config: Mapping[str, Any], site_id: str | None
) -> list[Path]:
    """Write build/hosting/{firebase.json, public/}; returns the files of public/."""
    if stage.exists():
        shutil.rmtree(stage)
    public = stage / "public"
    public.mkdir(parents=True)
    for name in ("index.html", "styles.css", "manifest.webmanifest"):
        shutil.copy2(web / name, public / name)
    shutil.copytree(web / "src", public / "src")
    shutil.copytree(web / "icons", public / "icons")
    (public / "sw.js").write_bytes(service_worker(web))
    for path in module_closure(web, import_map_targets((web / "index.html").read_text())):
        target = public / path.relative_to(web.resolve())
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    web_config.write_config(config, public / "config.json")
    hosting = json.loads(HOSTING_CONFIG.read_text())
    if site_id:
        hosting["hosting"]["site"] = site_id
    (stage / "firebase.json").write_text(json.dumps(hosting, indent=2) + "\n")
    return sorted(path for path in public.rglob("*") if path.is_file())


def firebase_command(explicit: str | None, emulators: Path = EMULATORS) -> list[str]:
    """--firebase, else the pinned CLI in emulators/node_modules, else firebase on PATH."""
    if explicit:
        return shlex.split(explicit)
    pinned = emulators / "node_modules" / ".bin" / "firebase"
    if pinned.is_file():
        return [str(pinned)]
    if shutil.which("firebase"):
        return ["firebase"]
    version = json.loads((emulators / "package.json").read_text())["devDependencies"]
    if shutil.which("npx"):
        return ["npx", "--yes", f"firebase-tools@{version['firebase-tools']}"]
    raise DeployError("no Firebase CLI: run 'npm ci' in emulators/ or pass --firebase")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--outputs", help="a file of `terraform output -json` (- for stdin)")
    source.add_argument(
        "--terraform-dir",
        default=None,
        help="run `terraform output -json` in this folder (default: infra/terraform)",
    )
    parser.add_argument("--firebase", help="the Firebase CLI command (default: firebase)")
    parser.add_argument("--dry-run", action="store_true", help="stage build/hosting only")
    args = parser.parse_args(argv)
    if args.outputs is None and args.terraform_dir is None:
        args.terraform_dir = str(ROOT / "infra" / "terraform")
    try:
        outputs = web_config.read_outputs(args)
        config = web_config.web_config(outputs)
        hosting = (outputs.get("hosting_site") or {}).get("value") or {}
        files = stage_site(WEB, STAGE, config, hosting.get("site_id"))
        print(f"staged {len(files)} files in {STAGE.relative_to(ROOT)}")
        if args.dry_run:
            return 0
        command = [
            *firebase_command(args.firebase),
            "deploy",
            "--only",
            "hosting",
            "--config",
            str(STAGE / "firebase.json"),
            "--project",
            config["firebase"]["projectId"],
            "--non-interactive",
        ]
    except (DeployError, web_config.ConfigError) as error:
        print(f"deploy_web: {error}", file=sys.stderr)
        return 1
    print("+", shlex.join(command), flush=True)
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
