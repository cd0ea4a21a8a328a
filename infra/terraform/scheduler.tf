# The sweeper's schedule (optional: enable_sweeper). Cloud Scheduler POSTs an empty JSON
# object to the sweeper with an OIDC token of the "scheduler" identity, the only member
# allowed to invoke it.

resource "google_cloud_scheduler_job" "sweep" {
  count = var.enable_sweeper ? 1 : 0

  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-sweep"
  description      = "Re-queues panels whose lease expired and finishes stuck jobs."
  schedule         = var.sweep_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${var.sweeper_timeout_seconds}s"

  # The next run comes in minutes; a failed sweep is not worth retrying sooner.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.sweeper[0].service_config[0].uri
    body        = base64encode("{}")
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.function["scheduler"].email
      audience              = google_cloudfunctions2_function.sweeper[0].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invokes_sweeper]
}
