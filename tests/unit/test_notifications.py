"""The notifier on fakes: one message per finished job and device, whatever the deliveries."""

from __future__ import annotations

import threading

from panelflow.bootstrap import Services
from panelflow.domain.errors import ProviderError, TransientError, UnregisteredDevice
from panelflow.domain.models import JobRequest, JobStatus
from panelflow.domain.sharing import Device
from panelflow.services.jobs import start_job
from panelflow.services.notifications import notify_job_finished
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel

STORY = "Ada met Bo by the lighthouse. A secret nobody else may read."


def _register(services: Services, owner: str, *tokens: str) -> None:
    for token in tokens:
        services.devices.register_device(Device(owner, token, "android", 0.0))


def _finished(services: Services, owner: str = "user-1", panels: int = 2) -> str:
    request = JobRequest(story=STORY, style="noir", panels=panels, language="en")
    job_id = start_job(services, owner, request).job_id
    plan_job(services, job_id)
    for queued, index in list(services.queue.panels):
        if queued == job_id:
            render_panel(services, job_id, index)
    return job_id


def test_the_finisher_announces_a_job_once_even_under_duplicate_deliveries(services) -> None:
    job_id = _finished(services)
    # Every panel message delivered again: the job is final already, nothing more is sent.
    for index in range(2):
        render_panel(services, job_id, index)
    assert services.store.get_job(job_id).status == JobStatus.COMPLETED
    assert services.queue.finished == [job_id]


def test_a_failed_announcement_never_blocks_the_final_move(services, monkeypatch) -> None:
    def refuse(_job_id: str) -> None:
        raise TransientError("Pub/Sub is down")

    monkeypatch.setattr(services.queue, "publish_finished", refuse)
    job_id = _finished(services)
    assert services.store.get_job(job_id).status == JobStatus.COMPLETED


def test_each_device_gets_one_well_formed_message_without_the_story(services) -> None:
    _register(services, "user-1", "tok-a", "tok-b")
    _register(services, "user-2", "tok-other")
    job_id = _finished(services)
    report = notify_job_finished(services, job_id)
    assert report == {"sent": 2, "skipped": 0, "forgotten": 0, "failed": 0}
    sent = services.push.sent
    assert sorted(message.token for message in sent) == ["tok-a", "tok-b"]
    job = services.store.get_job(job_id)
    for message in sent:
        assert message.title == job.title and message.title
        assert message.body == "Your comic is ready"
        assert message.data == {"jobId": job_id, "status": "completed", "link": f"/#/jobs/{job_id}"}
        assert STORY not in repr(message) and "secret" not in repr(message).lower()


def test_duplicate_and_concurrent_deliveries_send_once_per_device(services) -> None:
    _register(services, "user-1", "tok-a", "tok-b", "tok-c")
    job_id = _finished(services)
    threads = [
        threading.Thread(target=notify_job_finished, args=(services, job_id)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = notify_job_finished(services, job_id)
    assert again["sent"] == 0 and again["skipped"] == 3
    assert sorted(message.token for message in services.push.sent) == ["tok-a", "tok-b", "tok-c"]


def test_an_unregistered_token_is_removed_and_the_others_still_sent(services) -> None:
    _register(services, "user-1", "tok-gone", "tok-ok")
    job_id = _finished(services)
    tokens = [device.token for device in services.devices.list_devices("user-1")]
    errors = {"tok-gone": UnregisteredDevice("FCM answered 404 UNREGISTERED")}
    original = services.push.send

    def send(message):
        if message.token in errors:
            raise errors[message.token]
        return original(message)

    services.push.send = send  # type: ignore[method-assign]
    report = notify_job_finished(services, job_id)
    assert report["forgotten"] == 1 and report["sent"] == 1
    assert [d.token for d in services.devices.list_devices("user-1")] == ["tok-ok"]
    assert set(tokens) == {"tok-gone", "tok-ok"}


def test_given_up_sends_are_logged_and_counted_not_raised(services, capsys) -> None:
    _register(services, "user-1", "tok-a", "tok-b")
    job_id = _finished(services)
    services.push.fail(TransientError("FCM answered 503 UNAVAILABLE"), ProviderError("400"))
    report = notify_job_finished(services, job_id)
    assert report["failed"] == 2 and report["sent"] == 0
    assert "notification not sent" in capsys.readouterr().out
    # Both devices stay registered: only an unregistered token is forgotten.
    assert len(services.devices.list_devices("user-1")) == 2


def test_unfinished_cancelled_or_missing_jobs_send_nothing(services) -> None:
    _register(services, "user-1", "tok-a")
    request = JobRequest(story=STORY, style="noir", panels=2, language="en")
    running = start_job(services, "user-1", request).job_id
    assert notify_job_finished(services, running)["sent"] == 0
    services.store.transition_job(running, [JobStatus.QUEUED], JobStatus.CANCELLED)
    assert notify_job_finished(services, running)["sent"] == 0
    assert notify_job_finished(services, "no-such-job")["sent"] == 0
    assert services.push.sent == []


def test_a_partial_job_says_so_and_links_to_the_app(services, monkeypatch) -> None:
    from dataclasses import replace

    monkeypatch.setattr(
        services, "settings", replace(services.settings, app_url="https://app.example/")
    )
    _register(services, "user-1", "tok-a")
    job_id = _finished(services)
    services.store.jobs[job_id].status = JobStatus.PARTIAL
    notify_job_finished(services, job_id)
    (message,) = services.push.sent
    assert message.body == "Your comic is ready (some panels failed)"
    assert message.data["link"] == f"https://app.example/#/jobs/{job_id}"


def test_the_fcm_endpoint_may_be_plain_http_only_to_loopback_outside_production() -> None:
    import pytest

    from panelflow.domain.errors import ConfigurationError
    from panelflow.settings import Settings

    base = {"GOOGLE_CLOUD_PROJECT": "p"}
    local = Settings.from_env({**base, "PANELFLOW_FCM_ENDPOINT": "http://127.0.0.1:9099"})
    assert local.fcm_endpoint == "http://127.0.0.1:9099"
    assert Settings.from_env(base).fcm_endpoint == "https://fcm.googleapis.com"
    for env in (
        {**base, "PANELFLOW_FCM_ENDPOINT": "http://fcm.example"},
        {**base, "PANELFLOW_FCM_ENDPOINT": "http://127.0.0.1:9099", "PANELFLOW_ENV": "production"},
        {**base, "PANELFLOW_FCM_ENDPOINT": "ftp://x"},
    ):
        with pytest.raises(ConfigurationError) as raised:
            Settings.from_env(env)
        assert raised.value.field == "PANELFLOW_FCM_ENDPOINT"
