"""The API's security properties through the real functions-framework runtime, on fakes:
who may do what to a job, signed asset links for the owner only, quotas, hostile bodies,
and logs that never carry a story or a token."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from functions_framework import create_app

from fakes.auth import fake_token
from panelflow.bootstrap import Services
from panelflow.domain.models import JobStatus
from panelflow.domain.quotas import DAY_SECONDS
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.settings import Settings

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "orchestrator" / "main.py"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "security"
OWNER, OTHER = "owner-1", "other-1"
CALLERS = {
    "owner": {"Authorization": f"Bearer {fake_token(OWNER)}"},
    "other": {"Authorization": f"Bearer {fake_token(OTHER)}"},
    "none": {},
}


@pytest.fixture
def client(services: Services):
    return create_app("api", str(SOURCE), "http").test_client()


def _start(client, uid: str = OWNER, panels: int = 2, story: str = "Ada met Bo. They talked."):
    return client.post(
        "/jobs",
        json={"story": story, "panels": panels},
        headers={"Authorization": f"Bearer {fake_token(uid)}"},
    )


def _post_raw(client, data: str | bytes, content_type: str = "application/json"):
    """POST /jobs by the owner with ``data`` as the body, byte for byte."""
    return client.post("/jobs", data=data, content_type=content_type, headers=CALLERS["owner"])


def _rendered_job(client, services: Services, panels: int = 2) -> str:
    """A job of OWNER, planned, with its first panel drawn (an image and audio exist)."""
    job_id = _start(client, panels=panels).get_json()["jobId"]
    plan_job(services, job_id)
    render_panel(services, job_id, 0)
    return job_id


# ---- authorisation: every route, three callers -------------------------------------------------


def test_authorisation_matrix_of_the_job_routes(client, services: Services) -> None:
    job_id = _rendered_job(client, services)
    # In this order, so each of the owner's calls finds the job in a state that allows it.
    routes = [
        ("GET", f"/jobs/{job_id}", 200),
        ("POST", f"/jobs/{job_id}/panels/1:regenerate", 202),
        ("POST", f"/jobs/{job_id}:cancel", 200),
        ("POST", f"/jobs/{job_id}:retry", 200),
    ]
    counts: Counter[str] = Counter()
    for method, path, owner_status in routes:
        for caller in ("none", "other", "owner"):
            before = services.store.get_job(job_id)
            published = (list(services.queue.plans), list(services.queue.panels))
            response = client.open(path, method=method, headers=CALLERS[caller])
            body = response.get_json()
            counts["attempts"] += 1
            expected = {"owner": owner_status, "other": 404, "none": 401}[caller]
            assert response.status_code == expected, (caller, path, body)
            if response.status_code < 400:
                counts["allowed"] += 1
                if caller != "owner":
                    counts["unauthorised_successes"] += 1
            else:
                counts["denied"] += 1
                assert set(body) == {"error"} and body["error"]["code"] in (
                    "not_found",
                    "unauthenticated",
                )
                # A refused call changed nothing and queued nothing.
                assert services.store.get_job(job_id) == before
                assert (services.queue.plans, services.queue.panels) == published
                # ...and says nothing about the job (no id probing).
                assert "ownerUid" not in json.dumps(body) and "status" not in body
    # The list: the owner sees the job, the other user an empty list, no token a 401.
    for caller, expected in (("owner", [job_id]), ("other", []), ("none", None)):
        response = client.get("/jobs", headers=CALLERS[caller])
        counts["attempts"] += 1
        if expected is None:
            assert response.status_code == 401
            counts["denied"] += 1
            continue
        assert [job["jobId"] for job in response.get_json()["jobs"]] == expected
        counts["allowed"] += 1
    _record("api-routes-matrix", counts)
    assert counts == Counter(attempts=15, allowed=6, denied=9)
    assert counts["unauthorised_successes"] == 0


def test_a_job_id_of_someone_else_reads_like_one_that_does_not_exist(client, services) -> None:
    job_id = _rendered_job(client, services)
    theirs = client.get(f"/jobs/{job_id}", headers=CALLERS["other"])
    missing = client.get("/jobs/doesnotexist", headers=CALLERS["other"])
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json()["error"]["message"].replace(job_id, "ID") == missing.get_json()[
        "error"
    ]["message"].replace("doesnotexist", "ID")


# ---- asset links: signed, short-lived, for the owner only --------------------------------------


def test_signed_asset_links_only_for_the_owner(client, services: Services) -> None:
    job_id = _rendered_job(client, services)
    counts: Counter[str] = Counter()
    for caller in ("none", "other"):
        response = client.get(f"/jobs/{job_id}", headers=CALLERS[caller])
        counts["attempts"] += 1
        counts["denied"] += 1
        assert response.status_code in (401, 404)
        assert "memory://" not in response.get_data(as_text=True)
    assert services.blobs.signed == []  # nothing was even signed for them
    view = client.get(f"/jobs/{job_id}", headers=CALLERS["owner"]).get_json()
    counts["attempts"] += 1
    counts["allowed"] += 1
    done = view["panels"][0]
    for kind in ("image", "audio"):
        asset = done[kind]
        assert asset["url"].startswith(f"memory://{asset['path']}")
        lifetime = asset["expiresAt"] - services.blobs._clock()
        assert services.settings.signed_url_seconds - 5 < lifetime <= 900
    # The stored panel carries a path, never a link.
    stored = services.store.get_panel(job_id, 0)
    assert stored.image.url == "" and "url" not in stored.image.to_dict()
    # A panel not drawn yet has nothing to sign.
    assert view["panels"][1]["image"] is None
    assert sorted(services.blobs.signed) == sorted([done["image"]["path"], done["audio"]["path"]])
    _record("asset-links-matrix", counts | {"unauthorised_successes": 0})


def test_the_link_lifetime_is_a_setting() -> None:
    settings = Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "p", "PANELFLOW_SIGNED_URL_SECONDS": "60"}
    )
    assert settings.signed_url_seconds == 60
    assert Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p"}).signed_url_seconds == 900
    from panelflow.domain.errors import ConfigurationError

    for bad in ("0", "604801", "soon"):
        with pytest.raises(ConfigurationError):
            Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p", "PANELFLOW_SIGNED_URL_SECONDS": bad})


def test_gcs_links_are_v4_signed_with_the_configured_lifetime(tmp_path: Path) -> None:
    """The real adapter signs offline with a local key (no network: sockets are refused)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from panelflow.adapters.gcs_blobs import GcsBlobStore

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    client = storage.Client(project="p", credentials=AnonymousCredentials())
    blobs = GcsBlobStore("p", "bucket", client, signing_key_file=str(key_file), clock=lambda: 1e9)
    signed = blobs.signed_url("jobs/j/image-1.png", 900)
    query = parse_qs(urlsplit(signed.url).query)
    assert urlsplit(signed.url).path == "/bucket/jobs/j/image-1.png"
    assert query["X-Goog-Expires"] == ["900"] and query["X-Goog-SignedHeaders"] == ["host"]
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"] and query["X-Goog-Signature"]
    assert signed.expires_at == 1e9 + 900
    # Reused while most of its life is left, so a read does not sign every asset again.
    assert blobs.signed_url("jobs/j/image-1.png", 900) is signed
    unsignable = GcsBlobStore("p", "bucket", client)
    from panelflow.domain.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        unsignable.signed_url("jobs/j/image-1.png", 900)


# ---- quotas -------------------------------------------------------------------------------------


def _limited(services: Services, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    settings = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "demo-unit", **env})
    monkeypatch.setattr(services, "settings", settings)


def test_too_many_running_jobs_is_429_naming_the_limit(client, services, monkeypatch) -> None:
    _limited(services, monkeypatch, PANELFLOW_MAX_ACTIVE_JOBS="2")
    first = _start(client).get_json()["jobId"]
    assert _start(client).status_code == 202
    refused = _start(client)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    error = refused.get_json()["error"]
    assert error["code"] == "quota_exceeded" and error["limit"] == "maxActiveJobs"
    assert "at most 2 of your jobs may run at once" in error["message"]
    assert len(services.store.jobs) == 2 and len(services.queue.plans) == 2
    # Another user has slots of their own.
    assert _start(client, uid=OTHER).status_code == 202
    # Cancelling one frees a slot.
    assert client.post(f"/jobs/{first}:cancel", headers=CALLERS["owner"]).status_code == 200
    assert _start(client).status_code == 202


def test_too_many_panels_a_day_is_429_until_midnight_utc(client, services, monkeypatch) -> None:
    _limited(services, monkeypatch, PANELFLOW_MAX_PANELS_PER_DAY="10")
    assert _start(client, panels=6).status_code == 202
    refused = _start(client, panels=6)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["limit"] == "maxPanelsPerDay"
    assert "at most 10 panels a day" in error["message"] and "6 ordered today" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= DAY_SECONDS
    assert _start(client, panels=4).status_code == 202  # exactly at the limit is fine


def test_regenerate_and_retry_count_against_the_panels_a_day(client, services, monkeypatch) -> None:
    _limited(services, monkeypatch, PANELFLOW_MAX_PANELS_PER_DAY="3")
    job_id = _rendered_job(client, services, panels=2)
    regenerate = f"/jobs/{job_id}/panels/0:regenerate"
    assert client.post(regenerate, headers=CALLERS["owner"]).status_code == 202  # 3 of 3
    refused = client.post(regenerate, headers=CALLERS["owner"])
    assert refused.status_code == 429
    assert refused.get_json()["error"]["limit"] == "maxPanelsPerDay"
    assert services.store.get_panel(job_id, 0).generation == 1  # the refused one changed nothing


def test_quota_settings_are_read_and_zero_means_no_limit() -> None:
    settings = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p"})
    assert (settings.max_active_jobs, settings.max_panels_per_day) == (3, 200)
    unlimited = Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "PANELFLOW_MAX_ACTIVE_JOBS": "0",
            "PANELFLOW_MAX_PANELS_PER_DAY": "0",
        }
    )
    assert (unlimited.max_active_jobs, unlimited.max_panels_per_day) == (0, 0)


def test_no_limit_means_no_refusal(client, services, monkeypatch) -> None:
    _limited(services, monkeypatch, PANELFLOW_MAX_ACTIVE_JOBS="0", PANELFLOW_MAX_PANELS_PER_DAY="0")
    assert all(_start(client, panels=24).status_code == 202 for _ in range(12))
    # No limits, no usage record: one user's burst of starts contends on nothing.
    assert OWNER not in services.store.usage


# ---- hostile bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"story": "caf\xe9"}', "is not UTF-8"),
        (b"\xff\xfe{}", "is not UTF-8"),
        (b'{"story": "a", "story": "b"}', "has the key 'story' more than once"),
        (b'{"story": "ok", "panels": 1e309}', "has a number out of range"),
        (b'{"story": "ok", "panels": -1e309}', "has a number out of range"),
        (b'{"story": "ok", "panels": NaN}', "NaN is not a JSON number"),
        (b'{"story": "ok", "panels": Infinity}', "Infinity is not a JSON number"),
        (b'{"story": "ok", "panels": ' + b"9" * 5000 + b"}", "is not valid JSON"),
        (b"[" * 20_000 + b"]" * 20_000, "nests deeper than 32 levels"),
        (b'{"story": "ok", "x": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "nests deeper"),
        (b"", "is not valid JSON"),
        (b"null", "must be a JSON object"),
        (b'"story"', "must be a JSON object"),
        (b'{"story": "\\ud800 broken"}', "unpaired surrogate"),
    ],
)
def test_hostile_bodies_are_400_naming_the_problem(client, services, raw, reason) -> None:
    response = _post_raw(client, raw)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert any(reason in item["reason"] for item in error["errors"]), error
    assert services.store.jobs == {} and services.queue.plans == []


def test_brackets_inside_strings_do_not_count_as_nesting(client) -> None:
    story = "[[[{{{" * 50 + ' \\" ]]] still text'
    response = _post_raw(client, f'{{"story": "{story}"}}')
    assert response.status_code == 202


def test_json_with_a_charset_and_numbers_that_are_integers(client) -> None:
    response = _post_raw(
        client, b'{"story": "Ada.", "panels": 3}', "application/json; charset=utf-8"
    )
    assert response.status_code == 202
    # JSON Schema counts 3.0 as an integer; 3.5 is not one.
    assert _post_raw(client, b'{"story": "Ada.", "panels": 3.0}').status_code == 202
    bad = _post_raw(client, b'{"story": "Ada.", "panels": 3.5}')
    assert bad.status_code == 400


# ---- logs ---------------------------------------------------------------------------------------


def test_logs_carry_neither_the_story_nor_the_token(client, services, capfd) -> None:
    story = "Zyxwvut the lighthouse keeper whispered a secret phrase. Qoph answered."
    token = fake_token("log-user")
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/jobs", json={"story": story, "panels": 2}, headers=headers)
    job_id = created.get_json()["jobId"]
    plan_job(services, job_id)
    for index in (0, 1):
        render_panel(services, job_id, index)
    client.get(f"/jobs/{job_id}", headers=headers)
    client.post(f"/jobs/{job_id}/panels/0:regenerate", headers=headers)
    client.post(f"/jobs/{job_id}:cancel", headers=headers)
    # Refused requests too: a bad token, a bad body, a token of another user.
    client.get("/jobs", headers={"Authorization": f"Bearer {token}x.y"})
    client.post(
        "/jobs", data=story.encode() + b"\xff", content_type="application/json", headers=headers
    )
    client.get(f"/jobs/{job_id}", headers={"Authorization": f"Bearer {fake_token('someone')}"})
    output = capfd.readouterr()
    logged = output.out + output.err
    assert '"job queued"' in logged  # the logs are there...
    for secret in (story, "Zyxwvut", "Qoph", token, "memory://"):
        assert secret not in logged  # ...without the story, the token or a signed link
    assert services.store.get_job(job_id).status == JobStatus.CANCELLED


def _record(name: str, counts: Counter[str] | dict[str, int]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    summary = {key: counts[key] for key in ("attempts", "allowed", "denied")} | {
        "unauthorised_successes": counts.get("unauthorised_successes", 0)
    }
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(summary, indent=2))
