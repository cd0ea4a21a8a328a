"""emulators/firestore.rules against the Firestore emulator, through its REST API.

Every collection is tried by the job's owner, another signed-in user and a caller with no
token, for get, list (the "my jobs" query, an unconstrained query, a query on someone
else's uid), create, update and delete. Client calls carry ID tokens issued by the Auth
emulator (unsigned, as the client SDKs send them), so the emulator applies the rules to
their uid; ``Bearer owner`` is the
admin (server) credential that bypasses them, used here to seed data and to check that
refused writes changed nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from panelflow_cli.identity import Identity

pytestmark = pytest.mark.emulators

PROJECT = "demo-panelflow"
OWNER, OTHER = "rules-owner", "rules-other"
ADMIN = {"Authorization": "Bearer owner"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "security"


UIDS = {"owner": OWNER, "other": OTHER, "none": ""}
# Filled with ID tokens that the Auth emulator issues (see the firestore fixture).
CALLERS: dict[str, dict[str, str]] = {"none": {}}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    return {"fields": {key: _value(value) for key, value in data.items()}}


@dataclass
class Firestore:
    base: str

    def url(self, path: str = "") -> str:
        return f"{self.base}/v1/projects/{PROJECT}/databases/(default)/documents{path}"

    def seed(self, path: str, data: dict[str, Any]) -> None:
        response = requests.patch(
            self.url(f"/{path}"), json=_fields(data), headers=ADMIN, timeout=10
        )
        assert response.status_code == 200, response.text

    def admin_get(self, path: str) -> dict[str, Any] | None:
        response = requests.get(self.url(f"/{path}"), headers=ADMIN, timeout=10)
        return response.json() if response.status_code == 200 else None

    def query(
        self, headers: dict[str, str], collection: str, parent: str = "", **options: Any
    ) -> requests.Response:
        structured: dict[str, Any] = {"from": [{"collectionId": collection, **options}]}
        if "where_owner" in options:
            owner = structured["from"][0].pop("where_owner")
            structured["where"] = {
                "fieldFilter": {
                    "field": {"fieldPath": "ownerUid"},
                    "op": "EQUAL",
                    "value": {"stringValue": owner},
                }
            }
            structured["orderBy"] = [
                {"field": {"fieldPath": "createdAt"}, "direction": "DESCENDING"}
            ]
        return requests.post(
            self.url(f"{parent}:runQuery"),
            json={"structuredQuery": structured},
            headers=headers,
            timeout=10,
        )


@pytest.fixture(scope="module")
def firestore(emulators: dict[str, str]) -> Firestore:
    identity = Identity(emulator_host=emulators["FIREBASE_AUTH_EMULATOR_HOST"], project_id=PROJECT)
    for caller in ("owner", "other"):
        CALLERS[caller] = {"Authorization": f"Bearer {identity.token_for(UIDS[caller])}"}
    return Firestore(f"http://{emulators['FIRESTORE_EMULATOR_HOST']}")


@pytest.fixture(scope="module")
def seeded(firestore: Firestore) -> dict[str, str]:
    """One job of OWNER with a panel, its lease, its story, an idempotency key and a usage
    record."""
    job_id = uuid.uuid4().hex
    key_id = uuid.uuid4().hex
    now = time.time()
    docs = {
        "job": f"jobs/{job_id}",
        "panel": f"jobs/{job_id}/panels/000",
        "export": f"jobs/{job_id}/exports/pdf-grid-0",
        "input": f"jobInputs/{job_id}",
        "key": f"idempotencyKeys/{key_id}",
        "usage": f"usage/{OWNER}",
        # Worker-only fields of the panel (owner, expiry, attempts): no client reads them.
        "lease": f"panelLeases/{job_id}-000",
        # A registered device (its owner reads it), and the server-only sharing documents.
        "device": f"users/{OWNER}/devices/{key_id}",
        "share": f"shares/{key_id}",
        "holder": f"deviceTokens/{key_id}",
        "sent": f"notifications/{job_id}/sent/{key_id}",
    }
    firestore.seed(
        docs["job"], {"jobId": job_id, "ownerUid": OWNER, "status": "queued", "createdAt": now}
    )
    firestore.seed(docs["panel"], {"jobId": job_id, "index": 0, "status": "pending"})
    firestore.seed(docs["export"], {"jobId": job_id, "status": "running", "progress": 0.4})
    firestore.seed(docs["input"], {"story": "A secret story.", "ownerUid": OWNER})
    firestore.seed(docs["key"], {"ownerUid": OWNER, "jobId": job_id, "bodyHash": "h"})
    firestore.seed(docs["usage"], {"ownerUid": OWNER, "day": "2026-01-01", "panels": 3})
    lease = {"jobId": job_id, "index": 0, "owner": "worker-1", "expiresAt": now, "attempts": 1}
    firestore.seed(docs["lease"], lease | {"ownerUid": OWNER})
    firestore.seed(docs["device"], {"token": "fcm-token", "platform": "ios", "updatedAt": now})
    share = {"jobId": job_id, "ownerUid": OWNER, "createdAt": now, "revoked": False}
    firestore.seed(docs["share"], share)
    firestore.seed(docs["holder"], {"ownerUid": OWNER})
    firestore.seed(docs["sent"], {"sentAt": now})
    return docs | {"job_id": job_id}


def _documents(response: requests.Response) -> list[dict[str, Any]]:
    return [item["document"] for item in response.json() if "document" in item]


def _attempt(firestore: Firestore, seeded: dict[str, str], caller: str, kind: str, op: str):
    """Runs one operation; returns (allowed, the documents a read returned)."""
    headers = CALLERS[caller]
    path = seeded[kind]
    fresh = f"{path.rsplit('/', 1)[0]}/made-by-{caller}-{uuid.uuid4().hex[:6]}"
    if op == "get":
        response = requests.get(firestore.url(f"/{path}"), headers=headers, timeout=10)
        return response.status_code == 200, [response.json()] if response.ok else []
    if op.startswith("list"):
        collection = path.split("/")[-2]
        nested = kind in ("panel", "device", "sent", "export")
        parent = f"/{path.rsplit('/', 2)[0]}" if nested and op == "list" else ""
        options: dict[str, Any] = {}
        if op == "list-mine":
            options["where_owner"] = UIDS[caller]
        elif op == "list-owners":
            options["where_owner"] = OWNER
        elif op == "list-group":
            options["allDescendants"] = True
        response = firestore.query(headers, collection, parent, **options)
        return response.status_code == 200, _documents(response) if response.ok else []
    if op == "create":
        collection, name = fresh.rsplit("/", 1)
        response = requests.post(
            firestore.url(f"/{collection}"),
            params={"documentId": name},
            json=_fields({"ownerUid": UIDS[caller]}),
            headers=headers,
            timeout=10,
        )
        allowed = response.status_code == 200
        assert allowed == (firestore.admin_get(fresh) is not None)
        return allowed, []
    before = firestore.admin_get(path)
    if op == "update":
        response = requests.patch(
            firestore.url(f"/{path}"),
            params={"updateMask.fieldPaths": "status", "currentDocument.exists": "true"},
            json=_fields({"status": f"changed-by-{caller}"}),
            headers=headers,
            timeout=10,
        )
    else:
        response = requests.delete(firestore.url(f"/{path}"), headers=headers, timeout=10)
    allowed = response.status_code == 200
    if not allowed:
        assert firestore.admin_get(path) == before, f"a refused {op} changed {path}"
    return allowed, []


# What the rules must allow; everything else must be refused.
EXPECTED_ALLOWED = {
    ("owner", "job", "get"),
    ("owner", "job", "list-mine"),
    ("owner", "job", "list-owners"),  # the same query: ownerUid == the owner's uid
    ("other", "job", "list-mine"),  # their own (empty) list
    ("owner", "panel", "get"),
    ("owner", "panel", "list"),
    ("owner", "device", "get"),
    ("owner", "device", "list"),
    ("owner", "export", "get"),
    ("owner", "export", "list"),
}
KINDS = {
    "job": ("get", "list-mine", "list-owners", "list", "create", "update", "delete"),
    "panel": ("get", "list", "list-group", "create", "update", "delete"),
    "export": ("get", "list", "list-group", "create", "update", "delete"),
    "input": ("get", "list", "create", "update", "delete"),
    "key": ("get", "list", "create", "update", "delete"),
    "usage": ("get", "list", "create", "update", "delete"),
    "lease": ("get", "list", "create", "update", "delete"),
    "device": ("get", "list", "list-group", "create", "update", "delete"),
    "share": ("get", "list", "create", "update", "delete"),
    "holder": ("get", "list", "create", "update", "delete"),
    "sent": ("get", "list", "create", "update", "delete"),
}


def test_rules_matrix_owner_other_and_no_user(firestore: Firestore, seeded: dict[str, str]) -> None:
    counts: Counter[str] = Counter()
    wrong: list[tuple[str, str, str, bool]] = []
    # Reads first, writes after, and the owner's destructive writes refused before others'.
    order = ["get", "list-mine", "list-owners", "list", "list-group", "create", "update", "delete"]
    for op in order:
        for kind, ops in KINDS.items():
            if op not in ops:
                continue
            for caller in CALLERS:
                allowed, documents = _attempt(firestore, seeded, caller, kind, op)
                expected = (caller, kind, op) in EXPECTED_ALLOWED
                counts["attempts"] += 1
                counts["allowed" if allowed else "denied"] += 1
                foreign = [
                    doc
                    for doc in documents
                    if doc.get("fields", {}).get("ownerUid", {}).get("stringValue", OWNER)
                    != (OWNER if caller == "owner" else OTHER)
                    and kind == "job"
                ]
                if allowed and (not expected or foreign):
                    counts["unauthorised_successes"] += 1
                if allowed != expected:
                    wrong.append((caller, kind, op, allowed))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    summary = dict(counts) | {"unauthorised_successes": counts["unauthorised_successes"]}
    (ARTIFACTS / "firestore-rules-matrix.json").write_text(json.dumps(summary, indent=2))
    print("firestore rules matrix:", json.dumps(summary))
    assert wrong == []
    assert counts["unauthorised_successes"] == 0
    assert counts["allowed"] == len(EXPECTED_ALLOWED)
    # The owner's job and its panel are still there: no client could delete them.
    assert firestore.admin_get(seeded["job"]) is not None
    assert firestore.admin_get(seeded["panel"]) is not None


def test_the_my_jobs_query_returns_only_the_callers_jobs(
    firestore: Firestore, seeded: dict[str, str]
) -> None:
    firestore.seed(
        f"jobs/{uuid.uuid4().hex}",
        {"ownerUid": OTHER, "status": "queued", "createdAt": time.time()},
    )
    mine = firestore.query(CALLERS["owner"], "jobs", where_owner=OWNER)
    assert mine.status_code == 200
    owners = {doc["fields"]["ownerUid"]["stringValue"] for doc in _documents(mine)}
    assert owners == {OWNER}
    theirs = firestore.query(CALLERS["other"], "jobs", where_owner=OTHER)
    assert {d["fields"]["ownerUid"]["stringValue"] for d in _documents(theirs)} == {OTHER}
    # Without the ownerUid constraint the whole query is refused, not filtered.
    assert firestore.query(CALLERS["owner"], "jobs").status_code == 403
