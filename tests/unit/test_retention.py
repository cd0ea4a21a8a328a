"""Retention: what expires when, the TTL policies Terraform declares for it, and the
sweeper doing the same where there is no TTL."""

from __future__ import annotations

from pathlib import Path

from test_terraform import Module

from panelflow.adapters.firestore.documents import IDEMPOTENCY, INPUTS, USAGE
from panelflow.adapters.firestore.sharing import SHARES
from panelflow.bootstrap import Services
from panelflow.domain.models import JobRequest, JobStatus
from panelflow.domain.quotas import DAY_SECONDS
from panelflow.domain.retention import EXPIRES_AT, story_expires_at, usage_expires_at
from panelflow.services.control import cancel_job
from panelflow.services.jobs import start_job
from panelflow.services.sweeper import sweep
from panelflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_terraform_puts_a_ttl_policy_on_every_field_the_code_expires_by() -> None:
    module = Module(ROOT / "infra" / "terraform")
    assert module.locals["firestore_ttl_fields"] == {
        IDEMPOTENCY: EXPIRES_AT,
        INPUTS: EXPIRES_AT,
        USAGE: EXPIRES_AT,
        SHARES: EXPIRES_AT,
    }
    ttl = module.resources["google_firestore_field"]["ttl"]
    assert "ttl_config" in ttl and ttl["for_each"] == "${local.firestore_ttl_fields}"


def test_expiry_moments() -> None:
    assert story_expires_at(1000.0, 90) == 1000.0 + 90 * DAY_SECONDS
    midnight = 20 * DAY_SECONDS
    # Kept through the day after its day, whenever in the day it was written.
    assert usage_expires_at(midnight + 5) == midnight + 2 * DAY_SECONDS
    assert usage_expires_at(midnight + DAY_SECONDS - 1) == midnight + 2 * DAY_SECONDS


def test_story_retention_is_a_setting() -> None:
    assert Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p"}).story_retention_days == 90
    env = {"GOOGLE_CLOUD_PROJECT": "p", "PANELFLOW_STORY_RETENTION_DAYS": "7"}
    assert Settings.from_env(env).story_retention_days == 7


def test_the_sweeper_deletes_what_expired(services: Services) -> None:
    request = JobRequest(story="Ada met Bo.", style="noir", panels=2, language="en")
    job = start_job(services, "owner-1", request, idempotency_key="k1")
    cancel_job(services, "owner-1", job.job_id)
    store = services.store
    ended = store.get_job(job.job_id).finished_at
    assert sweep(services, now=ended + 60)["expiredDeleted"] == 0
    assert sweep(services, now=ended + 3 * DAY_SECONDS)["expiredDeleted"] == 2  # key, usage
    assert store.get_story(job.job_id)
    assert sweep(services, now=ended + 91 * DAY_SECONDS)["expiredDeleted"] == 1  # the story
    assert (
        job.job_id not in store.stories and store.get_job(job.job_id).status == JobStatus.CANCELLED
    )
