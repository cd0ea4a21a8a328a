"""docs/schemas/: valid JSON Schemas, free of internal fields, matching what the code writes.

The integration test (tests/integration/test_stack_sharing.py) checks real documents that a
stack run wrote on the emulator; this one holds the schemas and the domain's documents to
each other without one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from panelflow.adapters.firestore.documents import client_fields
from panelflow.domain.models import Asset, DialogueLine, Job, JobStatus, Panel, PanelStatus
from panelflow.domain.sharing import Device

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"
NAMES = ("job", "panel", "device", "export")
INTERNAL = {"lease", "leaseOwner", "leaseExpiresAt", "attempts", "worker", "workerId", "owner"}


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return schema


def _property_names(node: Any) -> set[str]:
    """Every name declared under a ``properties`` keyword, at any depth."""
    names: set[str] = set()
    if isinstance(node, dict):
        names |= set(node.get("properties", {}))
        for value in node.values():
            names |= _property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _property_names(value)
    return names


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_valid_and_declares_no_internal_field(name: str) -> None:
    schema = _schema(name)
    Draft202012Validator.check_schema(schema)
    assert _property_names(schema) & INTERNAL == set()
    assert f"schemas/{name}.schema.json" in (ROOT / "docs" / "clients.md").read_text()


def _panel() -> Panel:
    image = Asset("jobs/j/p0.png", "", "image/png", 1234, width=768, height=512)
    audio = Asset("jobs/j/p0.mp3", "", "audio/mpeg", 999, duration_ms=2100)
    return Panel(
        job_id="j",
        index=0,
        status=PanelStatus.DONE,
        caption="At dawn.",
        dialogue=[DialogueLine("Mira", "Hello!")],
        image=image,
        audio=audio,
        attempts=2,
        lease_owner="worker-1",
        lease_expires_at=1.0,
    )


def test_what_the_store_writes_validates_and_an_internal_field_is_refused() -> None:
    job = Job("j", "uid-1", JobStatus.RENDERING, "noir", "en", 2, title="T", panel_count=2)
    job_schema, panel_schema = (
        Draft202012Validator(_schema("job")),
        Draft202012Validator(_schema("panel")),
    )
    assert list(job_schema.iter_errors(job.to_dict())) == []
    stored_panel = client_fields(_panel().to_dict())
    assert list(panel_schema.iter_errors(stored_panel)) == []
    # The whole panel, lease and attempts included, is what a client must never see.
    assert list(panel_schema.iter_errors(_panel().to_dict()))
    assert list(job_schema.iter_errors({**job.to_dict(), "lease": {"owner": "w"}}))
    device = Device("uid-1", "fcm-token", "ios", 1.0).to_dict()
    assert list(Draft202012Validator(_schema("device")).iter_errors(device)) == []


def test_the_agreed_shapes_validate() -> None:
    panel = client_fields(_panel().to_dict())
    panel["dialogue"] = [{"speaker": "Mira", "text": "Hi", "side": "left"}]
    panel["audio"]["lines"] = [
        {"speaker": "narrator", "text": "At dawn.", "startMs": 0, "endMs": 900}
    ]
    panel["notes"] = [{"code": "voice_unavailable", "message": "no voice for this language"}]
    assert list(Draft202012Validator(_schema("panel")).iter_errors(panel)) == []
    panel["dialogue"][0]["side"] = "above"
    assert list(Draft202012Validator(_schema("panel")).iter_errors(panel))
    export = {
        "format": "pdf",
        "layout": "grid",
        "status": "done",
        "progress": 1.0,
        "path": "x",
        "size": 9,
    }
    assert list(Draft202012Validator(_schema("export")).iter_errors(export)) == []
    assert list(Draft202012Validator(_schema("export")).iter_errors({**export, "attempts": 1}))
