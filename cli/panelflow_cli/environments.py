"""One Python environment per deploy bundle, built from that bundle's requirements.txt only.

Cloud Functions installs a function's requirements.txt into an empty environment; the local
stack does the same, so a dependency missing from a bundle fails locally as it fails in the
cloud. Environments are cached by a hash of the requirements file and the Python version
(``~/.cache/panelflow/envs/<bundle>-<hash>``): a warm ``panelflow up`` reuses them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from panelflow_cli import staging

READY = ".panelflow-ready"


class BuildError(RuntimeError):
    """An environment could not be built; the message carries pip's last lines."""


def cache_dir() -> Path:
    """PANELFLOW_ENV_CACHE, else the user's cache folder: shared by every clone and stack."""
    override = os.environ.get("PANELFLOW_ENV_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "panelflow" / "envs"


def requirements_file(bundle: str, root: Path | None = None) -> Path:
    return (root or staging.repo_root()) / "functions" / bundle / "requirements.txt"


def environment_key(requirements: Path) -> str:
    sha = hashlib.sha256(requirements.read_bytes())
    sha.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return sha.hexdigest()[:12]


def environment_dir(bundle: str, root: Path | None = None) -> Path:
    key = environment_key(requirements_file(bundle, root))
    return cache_dir() / f"{bundle}-{key}"


def ensure(bundle: str, root: Path | None = None, log: Path | None = None) -> Path:
    """The bundle's environment, built first if needed; safe when several stacks race."""
    target = environment_dir(bundle, root)
    if (target / READY).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.with_suffix(".lock")):
        if (target / READY).exists():
            return target
        _build(target, requirements_file(bundle, root), log)
    return target


def python(environment: Path) -> Path:
    return environment / "bin" / "python"


def functions_framework(environment: Path) -> Path:
    return environment / "bin" / "functions-framework"


def _build(target: Path, requirements: Path, log: Path | None) -> None:
    # Built in place (venv scripts name their interpreter by absolute path); a folder left
    # half-built by an interrupted run has no READY marker and is started over.
    shutil.rmtree(target, ignore_errors=True)
    started = time.monotonic()
    # The same interpreter version as the tools (the cache key carries it).
    _run([sys.executable, "-m", "venv", str(target)], log)
    pip = [str(python(target)), "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "install", "-r", str(requirements)], log)
    (target / READY).write_text(f"built in {time.monotonic() - started:.1f} s\n")


def _run(command: list[str], log: Path | None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if log is not None:
        with log.open("a") as out:
            out.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
        raise BuildError(f"'{' '.join(command[:4])} ...' failed:\n{tail}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
