"""The notifier: one push notification per finished job to each of its owner's devices.

It runs on the ``notify`` topic, after the job's final move (so nothing here can delay or
undo it). Deliveries may repeat: each device is claimed for the job in the store before
anything is sent to it, and only the one claim that succeeds sends. A notification carries
the comic's title and a link to it, never the story.
"""

from __future__ import annotations

from panelflow import logs
from panelflow.domain.errors import PanelflowError, UnregisteredDevice
from panelflow.domain.models import JobStatus
from panelflow.ports import NotifyingDependencies, PushMessage

# A job the sweeper timed out or a user cancelled ends too; the user learns of it in the app.
NOTIFIED = {
    JobStatus.COMPLETED: "Your comic is ready",
    JobStatus.PARTIAL: "Your comic is ready (some panels failed)",
    JobStatus.FAILED: "Your comic could not be drawn",
}


def job_link(app_url: str, job_id: str) -> str:
    """The web app's view of the job (the native apps open it by its jobId)."""
    return f"{app_url.rstrip('/')}/#/jobs/{job_id}"


def notify_job_finished(services: NotifyingDependencies, job_id: str) -> dict[str, int]:
    """Sends the finished job's notification to each of its owner's devices, once each.

    Returns:
        How many were sent, skipped (sent by an earlier delivery), forgotten (the device
        was unregistered) and failed (given up after the retry budget, or refused).
    """
    report = {"sent": 0, "skipped": 0, "forgotten": 0, "failed": 0}
    job = services.store.get_job(job_id)
    if job is None or job.status not in NOTIFIED:
        return report
    title = job.title or "Your comic"
    link = job_link(services.settings.app_url, job_id)
    for device in services.devices.list_devices(job.owner_uid):
        if not services.devices.claim_notification(job_id, device.device_id):
            report["skipped"] += 1
            continue
        message = PushMessage(
            token=device.token,
            title=title,
            body=NOTIFIED[job.status],
            data={"jobId": job_id, "status": job.status.value, "link": link},
        )
        try:
            services.push.send(message)
        except UnregisteredDevice:
            services.devices.unregister_device(job.owner_uid, device.device_id)
            report["forgotten"] += 1
        except PanelflowError as error:
            # Given up: the comic is finished and visible in the app all the same.
            logs.warning("notification not sent", jobId=job_id, error=error.code)
            report["failed"] += 1
        else:
            report["sent"] += 1
    logs.info("job notified", jobId=job_id, **report)
    return report
