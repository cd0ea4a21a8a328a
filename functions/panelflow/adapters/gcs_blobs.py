"""GcsBlobStore: assets in a private Cloud Storage bucket (or a local Storage emulator).

Nothing stored is public. Readers get V4 signed URLs: in production the function's service
account signs them through the IAM signBlob API (it needs the Service Account Token Creator
role on itself; no key file exists); locally a throwaway RSA key made by the local stack
signs them, and the stack's Storage emulator checks the signature and the expiry.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import storage  # type: ignore[attr-defined]

from panelflow.adapters.google_errors import TRANSIENT_API_ERRORS
from panelflow.domain.errors import ConfigurationError, NotFound, TransientError
from panelflow.domain.models import Asset
from panelflow.ports import SignedUrl

# Errors that say "try again": the one table of google_errors.
_TRANSIENT = TRANSIENT_API_ERRORS
# A cached link is handed out again while at least this share of its lifetime is left, so
# one read of a job does not cost one signBlob call per asset.
_REUSE_SHARE = 2 / 3


class GcsBlobStore:
    def __init__(
        self,
        project_id: str,
        bucket: str,
        client: storage.Client | None = None,
        *,
        signing_key_file: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if client is None:
            if os.environ.get("STORAGE_EMULATOR_HOST"):
                from google.auth.credentials import AnonymousCredentials

                client = storage.Client(project=project_id, credentials=AnonymousCredentials())
            else:
                client = storage.Client(project=project_id)
        self._client = client
        self._bucket = client.bucket(bucket)
        self._project_id = project_id
        self._signing_key_file = signing_key_file
        self._local_signer: Any = None
        self._clock = clock
        self._lock = threading.Lock()
        self._signed: dict[tuple[str, float], SignedUrl] = {}

    def signed_url(self, path: str, expires_in: float) -> SignedUrl:
        now = self._clock()
        with self._lock:
            cached = self._signed.get((path, expires_in))
        if cached is not None and cached.expires_at - now >= expires_in * _REUSE_SHARE:
            return cached
        seconds = max(1, int(expires_in))
        try:
            url = self._bucket.blob(path).generate_signed_url(
                version="v4",
                expiration=datetime.timedelta(seconds=seconds),
                method="GET",
                **self._signing_arguments(),
            )
        except _SIGNING_TRANSIENT as error:
            raise TransientError("could not sign the asset links, try again") from error
        signed = SignedUrl(url=url, expires_at=now + seconds)
        with self._lock:
            if len(self._signed) > 10_000:
                self._signed.clear()
            self._signed[(path, expires_in)] = signed
        return signed

    def _signing_arguments(self) -> dict[str, Any]:
        """Who signs: the local key, the client's own key, or the service account via IAM."""
        if self._signing_key_file:
            return {"credentials": self._local_credentials()}
        credentials = self._client._credentials
        from google.auth import credentials as auth_credentials

        if isinstance(credentials, auth_credentials.Signing):
            return {}  # a service account key: signs locally, no call
        if isinstance(credentials, auth_credentials.AnonymousCredentials):
            raise ConfigurationError(
                "asset links cannot be signed with anonymous credentials: the local stack sets "
                "PANELFLOW_SIGNING_KEY_FILE for the Storage emulator",
                field="PANELFLOW_SIGNING_KEY_FILE",
            )
        with self._lock:
            if not credentials.valid:
                from google.auth.transport.requests import Request

                credentials.refresh(Request())
            # Cloud Functions' credentials learn their e-mail address on refresh.
            return {
                "service_account_email": credentials.service_account_email,
                "access_token": credentials.token,
            }

    def _local_credentials(self) -> Any:
        with self._lock:
            if self._local_signer is None:
                from google.auth import crypt
                from google.oauth2 import service_account

                with open(self._signing_key_file, encoding="utf-8") as key_file:
                    signer = crypt.RSASigner.from_string(key_file.read())
                self._local_signer = service_account.Credentials(
                    signer,
                    f"panelflow-local-signer@{self._project_id}.iam.gserviceaccount.com",
                    token_uri="https://oauth2.googleapis.com/token",
                )
            return self._local_signer

    def exists(self, path: str) -> Asset | None:
        blob = self._bucket.blob(path)
        try:
            blob.reload()
        except gexc.NotFound:
            return None
        except _TRANSIENT as error:
            raise TransientError("storage is unavailable, try again") from error
        meta = {key: int(value) for key, value in (blob.metadata or {}).items()}
        return Asset.stored(path, blob.content_type or "", int(blob.size or 0), meta)

    def put(self, path: str, data: bytes, content_type: str, **meta: int) -> Asset:
        blob = self._bucket.blob(path)
        blob.metadata = {key: str(value) for key, value in meta.items()}
        try:
            blob.upload_from_string(data, content_type=content_type)
        except _TRANSIENT as error:
            raise TransientError("could not upload to storage, try again") from error
        return Asset.stored(path, content_type, len(data), meta)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError("a prefix to delete must end with '/'")  # never "jobs/1" of "jobs/12"
        deleted = 0
        try:
            for blob in self._bucket.list_blobs(prefix=prefix):
                try:
                    blob.delete()
                except gexc.NotFound:
                    continue  # deleted meanwhile
                deleted += 1
        except _TRANSIENT as error:
            raise TransientError("storage is unavailable, try again") from error
        return deleted

    def get(self, path: str) -> bytes:
        try:
            return bytes(self._bucket.blob(path).download_as_bytes())
        except gexc.NotFound as error:
            raise NotFound(f"no object at {path}") from error
        except _TRANSIENT as error:
            raise TransientError("storage is unavailable, try again") from error


def _signing_errors() -> tuple[type[BaseException], ...]:
    from google.auth import exceptions as auth_exceptions

    return (auth_exceptions.TransportError, auth_exceptions.RefreshError, *_TRANSIENT)


_SIGNING_TRANSIENT = _signing_errors()
