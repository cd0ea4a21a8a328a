"""Where the CLI keeps who is signed in: one refresh token per target, in a 0600 file.

A target is an API and the Firebase project behind it, so a login to the local stack and a
login to a deployed Panelflow never stand in for each other. The file lives in the user's
config directory (``$XDG_CONFIG_HOME/panelflow/credentials.json``, ``~/.config`` by default;
``PANELFLOW_CONFIG_DIR`` overrides it) and is only ever written whole, through a new file
created with mode 0600 and renamed over the old one, so it is never readable by others, even
for a moment, and never left half-written.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from panelflow_cli.identity import Identity, IdentityError, Session

FILE_NAME = "credentials.json"
FORMAT_VERSION = 1


class CredentialsError(RuntimeError):
    """The credentials file cannot be used; the message says what to do about it."""


@dataclass(frozen=True)
class Target:
    """An API and its Firebase project: what a stored login belongs to.

    ``emulator_host`` is set for the local stack (its Auth emulator); ``api_key`` is the web
    app's API key, needed to reach Google's Firebase Auth for a deployed API.
    """

    api_url: str
    project: str
    emulator_host: str = ""
    api_key: str = ""

    @property
    def local(self) -> bool:
        return bool(self.emulator_host)

    @property
    def key(self) -> str:
        return f"{self.api_url.rstrip('/')} {self.project}"

    def identity(self) -> Identity:
        return Identity(self.api_key, emulator_host=self.emulator_host, project_id=self.project)

    def describe(self) -> str:
        where = "local stack" if self.local else "deployed"
        return f"{self.api_url} (project {self.project or 'unknown'}, {where})"


def config_dir(env: dict[str, str] | None = None) -> Path:
    """``PANELFLOW_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/panelflow``, else ~/.config/panelflow."""
    env = dict(os.environ) if env is None else env
    if env.get("PANELFLOW_CONFIG_DIR"):
        return Path(env["PANELFLOW_CONFIG_DIR"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "panelflow"


def project_of(id_token: str) -> str:
    """The Firebase project an ID token was issued for (its ``aud``), read without checking.

    Only labels a login whose project the user did not name; the API verifies every token.
    """
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims.get("aud", "")) if isinstance(claims, dict) else ""
    except (IndexError, ValueError):
        return ""


class CredentialStore:
    """Stored logins, keyed by ``Target.key``; every change rewrites the 0600 file whole."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else config_dir()
        self.path = self.directory / FILE_NAME

    def get(self, target: Target) -> Session | None:
        """The login for ``target`` (see ``find``)."""
        found = self.find(target)
        return found[1] if found else None

    def find(self, target: Target) -> tuple[Target, Session] | None:
        """The login for ``target`` and the target it was stored for.

        For a target whose project is not named, the only login for its API URL, with that
        login's project filled in (so a renewal is stored back in the same place).
        """
        logins = self._read()
        entry = logins.get(target.key)
        if entry is None and not target.project:
            same_api = [value for value in logins.values() if value.get("apiUrl") == target.api_url]
            entry = same_api[0] if len(same_api) == 1 else None
        if entry is None:
            return None
        project = str(entry.get("project") or target.project)
        return dataclasses.replace(target, project=project), self._session(entry)

    def put(self, target: Target, session: Session) -> None:
        """Stores ``session`` for ``target``; a corrupt file is replaced, not repaired.

        A local-stack login replaces any other local-stack login: the Auth emulator forgets
        its users when its stack stops, so older ones can never be used again.
        """
        try:
            logins = self._read()
        except CredentialsError:
            logins = {}
        if target.local:
            logins = {key: value for key, value in logins.items() if not value.get("local")}
        logins[target.key] = {
            "apiUrl": target.api_url,
            "project": target.project,
            "local": target.local,
            "uid": session.uid,
            "email": session.email,
            "anonymous": session.anonymous,
            "refreshToken": session.refresh_token,
            "idToken": session.id_token,
            "expiresAt": session.expires_at,
        }
        self._write(logins)

    def remove(self, target: Target) -> bool:
        """Forgets the login for ``target``; deletes the file when none is left."""
        found = self.find(target)
        if found is None:
            return False
        logins = self._read()
        del logins[found[0].key]
        if logins:
            self._write(logins)
        else:
            self.path.unlink(missing_ok=True)
        return True

    def remove_all(self) -> bool:
        """Deletes the file, corrupt or not; False when there was none."""
        if not self.path.exists():
            return False
        self.path.unlink()
        return True

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise CredentialsError(f"cannot read {self.path}: {error.strerror}") from error
        try:
            data = json.loads(text)
            logins = data["logins"]
            if data.get("version") != FORMAT_VERSION or not isinstance(logins, dict):
                raise ValueError("unknown layout")
            for entry in logins.values():
                self._session(entry)
        except (ValueError, KeyError, TypeError) as error:
            raise CredentialsError(
                f"{self.path} is damaged: run 'panelflow login' to sign in again "
                "(or 'panelflow logout --all' to delete it)"
            ) from error
        return dict(logins)

    def _write(self, logins: dict[str, dict[str, Any]]) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps({"version": FORMAT_VERSION, "logins": logins}, indent=2)
        # Created new (O_EXCL) with mode 0600 before a byte is written, then renamed over.
        temporary = self.directory / f".{FILE_NAME}.{secrets.token_hex(6)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    @staticmethod
    def _session(entry: Any) -> Session:
        if not isinstance(entry, dict):
            raise TypeError("a login must be an object")
        return Session(
            uid=str(entry["uid"]),
            id_token=str(entry["idToken"]),
            refresh_token=str(entry["refreshToken"]),
            expires_at=float(entry["expiresAt"]),
            email=str(entry.get("email", "")),
            anonymous=bool(entry.get("anonymous", False)),
        )


class SignedIn:
    """An ID token source for ``ApiClient``: renews the token through the Secure Token
    endpoint when it is within a minute of expiry, and stores the renewed login."""

    def __init__(
        self,
        target: Target,
        session: Session,
        *,
        store: CredentialStore | None = None,
        identity: Identity | None = None,
    ) -> None:
        self.target = target
        self.session = session
        self._store = store
        self._identity = identity or target.identity()
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if not self.session.fresh(60.0):
                self.session = self._identity.refresh(self.session)
                if self._store is not None:
                    self._store.put(self.target, self.session)
            return self.session.id_token


def is_stale_login(error: IdentityError) -> bool:
    """Whether Firebase Auth refused a stored login for good (so signing in again is the fix)."""
    return error.code in {
        "INVALID_REFRESH_TOKEN",
        "TOKEN_EXPIRED",
        "USER_NOT_FOUND",
        "USER_DISABLED",
        "INVALID_GRANT_TYPE",
        "MISSING_REFRESH_TOKEN",
    }
