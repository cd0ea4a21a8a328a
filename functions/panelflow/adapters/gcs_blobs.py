"""GcsBlobStore: assets in Cloud Storage (or a local Storage emulator)."""

from __future__ import annotations

import os
from urllib.parse import quote

from google.api_core import exceptions as gexc
from google.cloud import storage  # type: ignore[attr-defined]

from panelflow.domain.errors import NotFound, TransientError
from panelflow.domain.models import Asset

_TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.GatewayTimeout,
    ConnectionError,
)


class GcsBlobStore:
    def __init__(
        self,
        project_id: str,
        bucket: str,
        client: storage.Client | None = None,
        public_base_url: str = "",
    ) -> None:
        self._emulator = os.environ.get("STORAGE_EMULATOR_HOST", "").rstrip("/")
        if client is None:
            if self._emulator:
                from google.auth.credentials import AnonymousCredentials

                client = storage.Client(project=project_id, credentials=AnonymousCredentials())
            else:
                client = storage.Client(project=project_id)
        self._client = client
        self._bucket = client.bucket(bucket)
        self._public_base_url = public_base_url.rstrip("/")

    def url(self, path: str) -> str:
        """A link a browser on the same machine can load; production hands out signed URLs."""
        if self._public_base_url:
            return f"{self._public_base_url}/{quote(path)}"
        if self._emulator:
            host = self._emulator if "://" in self._emulator else f"http://{self._emulator}"
            name = quote(path, safe="")
            return f"{host}/download/storage/v1/b/{self._bucket.name}/o/{name}?alt=media"
        return f"gs://{self._bucket.name}/{path}"

    def exists(self, path: str) -> Asset | None:
        blob = self._bucket.blob(path)
        try:
            blob.reload()
        except gexc.NotFound:
            return None
        except _TRANSIENT as error:
            raise TransientError("storage is unavailable, try again") from error
        meta = {key: int(value) for key, value in (blob.metadata or {}).items()}
        return self._asset(path, blob.content_type or "", int(blob.size or 0), meta)

    def put(self, path: str, data: bytes, content_type: str, **meta: int) -> Asset:
        blob = self._bucket.blob(path)
        blob.metadata = {key: str(value) for key, value in meta.items()}
        try:
            blob.upload_from_string(data, content_type=content_type)
        except _TRANSIENT as error:
            raise TransientError("could not upload to storage, try again") from error
        return self._asset(path, content_type, len(data), meta)

    def get(self, path: str) -> bytes:
        try:
            return bytes(self._bucket.blob(path).download_as_bytes())
        except gexc.NotFound as error:
            raise NotFound(f"no object at {path}") from error
        except _TRANSIENT as error:
            raise TransientError("storage is unavailable, try again") from error

    def _asset(self, path: str, content_type: str, size: int, meta: dict[str, int]) -> Asset:
        return Asset(
            path=path,
            url=self.url(path),
            content_type=content_type,
            size=size,
            width=meta.get("width"),
            height=meta.get("height"),
            duration_ms=meta.get("durationMs"),
        )
