# Topics and the subscriptions that deliver them.
#
# Each function is deployed without an event_trigger (an Eventarc trigger would create a
# subscription Terraform does not own). Instead these push subscriptions POST every message
# to the function's Cloud Run service, signed with an OIDC token of the "pusher" identity.
# Owning the subscriptions is what puts the delivery policy in code: retries with
# exponential backoff, the dead-letter topic after var.max_delivery_attempts, and an ack
# deadline that covers a whole run of the function.
#
# The push body is Pub/Sub's standard wrapper ({"message": {...}, "subscription": ...});
# functions-framework turns it into the CloudEvent the @cloud_event entry points take,
# reading the topic from the request path, which is why the endpoint ends in
# /projects/<project>/topics/<topic>.

resource "google_pubsub_topic" "plan" {
  # checkov:skip=CKV_GCP_83:Messages carry ids only (jobId, panelIndex); Google-managed encryption is enough.
  project = var.project_id
  name    = var.plan_topic
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "panels" {
  # checkov:skip=CKV_GCP_83:Messages carry ids only (jobId, panelIndex); Google-managed encryption is enough.
  project = var.project_id
  name    = var.panels_topic
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "notify" {
  # checkov:skip=CKV_GCP_83:Messages carry ids only (jobId); Google-managed encryption is enough.
  project = var.project_id
  name    = var.notify_topic
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "exports" {
  # checkov:skip=CKV_GCP_83:Messages carry ids only (jobId, exportId); Google-managed encryption is enough.
  project = var.project_id
  name    = var.exports_topic
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  # checkov:skip=CKV_GCP_83:Messages carry ids only (jobId, panelIndex); Google-managed encryption is enough.
  project = var.project_id
  name    = var.dead_letter_topic
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

locals {
  push_invoker = google_service_account.function["pusher"].email
}

# One push subscription per topic-triggered function of functions/pipeline.yaml:
#   plan topic        -> plan         (dead letters after var.max_delivery_attempts)
#   panels topic      -> worker       (dead letters after var.max_delivery_attempts)
#   notify topic      -> notifier     (no dead-letter policy: nothing to fail)
#   exports topic     -> exporter     (no dead-letter policy: attempts counted on the export)
#   dead-letter topic -> dead_letter  (no dead-letter policy: a dead letter that keeps
#                                      failing is retried with backoff until message
#                                      retention ends, and stays visible)
resource "google_pubsub_subscription" "push" {
  for_each = local.push_functions

  project = var.project_id
  name    = "${local.topics[each.value.topic].name}-push"
  topic   = local.topics[each.value.topic].id
  labels  = local.labels

  # Pub/Sub waits this long for the function's answer before it counts a failed delivery.
  # A redelivery while the first run is still working would pay for a panel twice: the
  # deadline covers the function's whole timeout (600 s is Pub/Sub's maximum).
  ack_deadline_seconds = min(600, local.function_sizes[each.key].timeout_seconds)
  # Dead letters are kept longer, for whoever has to look at them.
  message_retention_duration = contains(local.dead_letter_topics, each.value.topic) ? var.dead_letter_retention_duration : var.message_retention_duration

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function[each.key].service_config[0].uri}/projects/${var.project_id}/topics/${local.topics[each.value.topic].name}"

    oidc_token {
      service_account_email = local.push_invoker
      audience              = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  # Where the declaration says the function's trigger dead-letters to.
  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter == null ? [] : [local.topics[each.value.dead_letter].id]
    content {
      dead_letter_topic     = dead_letter_policy.value
      max_delivery_attempts = var.max_delivery_attempts
    }
  }

  # Never expire for lack of traffic (the default is 31 days).
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.pusher_invokes,
    google_service_account_iam_member.pubsub_agent_signs_as_pusher,
    google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters,
  ]
}
