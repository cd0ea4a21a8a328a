#!/usr/bin/env python3
"""Write the web client's config.json from the deployment's Terraform outputs.

The page reads `/config.json` (web/src/config.js); locally the stack's web server builds it
(cli/panelflow_cli/webserver.py), in production it is this file, deployed with the site.
Terraform's `web_config` output carries it whole: the API's URL, the web app's Firebase
config (apiKey, authDomain, projectId, appId), empty emulator addresses and which optional
sign-in methods the page offers (`signIn.google`).

    terraform -chdir=infra/terraform output -json | python3 scripts/web_config.py
    python3 scripts/web_config.py --outputs outputs.json --out web/config.json
    python3 scripts/web_config.py --terraform-dir infra/terraform   # runs terraform itself

Standard library only, so it runs wherever Terraform does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "web" / "config.json"

# The keys the page reads, the same the local web server serves.
REQUIRED_KEYS = ("apiUrl", "firebase", "firestoreEmulatorHost", "authEmulatorUrl", "signIn")
FIREBASE_KEYS = ("apiKey", "authDomain", "projectId", "appId")


class ConfigError(Exception):
    """The Terraform outputs cannot make a usable config.json."""


def web_config(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The config.json object from `terraform output -json` (a map of {value, ...} entries)."""
    entry = outputs.get("web_config")
    if not isinstance(entry, Mapping) or "value" not in entry:
        raise ConfigError(
            "no web_config in the Terraform outputs: apply infra/terraform first "
            "(with enable_web_client = true)"
        )
    config = entry["value"]
    if not isinstance(config, Mapping):
        raise ConfigError("web_config is null: the deployment has enable_web_client = false")
    missing = [key for key in REQUIRED_KEYS if key not in config]
    firebase = config.get("firebase")
    if not isinstance(firebase, Mapping):
        missing.append("firebase")
    else:
        missing += [f"firebase.{key}" for key in FIREBASE_KEYS if not firebase.get(key)]
    if not config.get("apiUrl"):
        missing.append("apiUrl")
    if missing:
        raise ConfigError(f"web_config lacks {', '.join(sorted(set(missing)))}")
    if config["firestoreEmulatorHost"]:
        raise ConfigError("a deployed web client must not name a Firestore emulator")
    result = {key: config[key] for key in REQUIRED_KEYS}
    result["apiUrl"] = str(config["apiUrl"]).rstrip("/")
    result["firebase"] = {key: firebase[key] for key in FIREBASE_KEYS}  # type: ignore[index]
    return result


def read_outputs(args: argparse.Namespace) -> Mapping[str, Any]:
    if args.terraform_dir is not None:
        result = subprocess.run(
            ["terraform", f"-chdir={args.terraform_dir}", "output", "-json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ConfigError(f"terraform output failed: {result.stderr.strip()}")
        text = result.stdout
    elif args.outputs is not None and str(args.outputs) != "-":
        text = Path(args.outputs).read_text()
    else:
        text = sys.stdin.read()
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"the Terraform outputs are not JSON: {error}") from error
    if not isinstance(outputs, Mapping):
        raise ConfigError("the Terraform outputs are not a JSON object")
    return outputs


def write_config(config: Mapping[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(config, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--outputs", help="a file of `terraform output -json` (- for stdin)")
    source.add_argument("--terraform-dir", help="run `terraform output -json` in this folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: web/config.json")
    args = parser.parse_args(argv)
    try:
        config = web_config(read_outputs(args))
    except ConfigError as error:
        print(f"web_config: {error}", file=sys.stderr)
        return 1
    write_config(config, args.out)
    print(f"wrote {args.out} (API {config['apiUrl']}, project {config['firebase']['projectId']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
