# The schedule of every scheduled function of functions/pipeline.yaml (the sweeper, deployed
# only with enable_sweeper). Cloud Scheduler POSTs an empty JSON object to it with an OIDC
# token of the "scheduler" identity, the only member allowed to invoke it.

resource "google_cloud_scheduler_job" "sweep" {
  for_each = local.scheduled_functions

  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-${each.value.name}"
  description = each.value.description
  # The declaration's schedule unless var.sweep_schedule overrides it.
  schedule         = coalesce(var.sweep_schedule, each.value.schedule)
  time_zone        = "Etc/UTC"
  attempt_deadline = "${local.function_sizes[each.key].timeout_seconds}s"

  # The next run comes in minutes; a failed sweep is not worth retrying sooner.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    body        = base64encode("{}")
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.function["scheduler"].email
      audience              = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invokes_sweeper]
}
