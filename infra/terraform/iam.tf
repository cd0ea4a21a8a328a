# Identities and roles. One service account per function, each holding only what
# functions/pipeline.yaml declares for it (pipeline.tf turns the declaration into the lists
# below): roles on the topics it publishes to, the assets bucket at its storage level, its
# secrets, Firestore, never a primitive role (roles/owner, roles/editor, roles/viewer).
#
#   function      Firestore  publishes to          assets bucket  signs URLs  Gemini key
#   api           yes        plan, panels          read           yes         no
#   plan          yes        panels                read/write     no          yes
#   worker        yes        notify                read/write     no          yes
#   dead_letter   yes        notify                -              no          no
#   notifier      yes        -                     -              no          no    (+ FCM send)
#   sweeper       yes        plan, panels, notify  -              no          no
#
# Two more identities call functions: "pusher" signs Pub/Sub's push requests, "scheduler"
# signs Cloud Scheduler's; "build" is the Cloud Build identity that builds the functions.

locals {
  service_accounts = merge(
    {
      for key, function in local.functions : key => {
        id    = function.name
        title = "Panelflow ${function.name} function"
      }
    },
    {
      pusher = { id = "pusher", title = "Panelflow Pub/Sub push invoker" }
      build  = { id = "build", title = "Panelflow function builds" }
    },
    length(local.scheduled_functions) > 0 ? tomap({
      scheduler = { id = "scheduler", title = "Panelflow Cloud Scheduler invoker" }
    }) : tomap({}),
  )

  project_roles = concat(
    local.function_project_roles,
    [{ account = "build", role = "roles/logging.logWriter" }],
  )
}

resource "google_service_account" "function" {
  for_each = local.service_accounts

  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.value.id}"
  display_name = each.value.title

  depends_on = [google_project_service.apis]
}

# ---- project-level roles (Firestore has no per-collection IAM) -------------------------------

resource "google_project_iam_member" "function" {
  for_each = { for grant in local.project_roles : "${grant.account}:${grant.role}" => grant }

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.function[each.value.account].member
}

# Cloud Functions copies each bundle into its own gcf-v2-sources-* bucket and builds from
# there; the build identity may read those buckets and nothing else in the project.
resource "google_project_iam_member" "build_reads_function_sources" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.function["build"].member

  condition {
    title       = "function-sources-only"
    description = "Only the buckets Cloud Functions stages sources in."
    expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-\")"
  }
}

# ---- Pub/Sub -------------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = { for grant in local.publishers : "${grant.account}:${grant.topic}" => grant }

  project = var.project_id
  topic   = local.topics[each.value.topic].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function[each.value.account].member
}

# Dead-lettering: the Pub/Sub service agent publishes exhausted messages to the dead-letter
# topic and acknowledges them on the subscription they came from.
resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  for_each = local.dead_letter_topics

  project = var.project_id
  topic   = local.topics[each.value].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent

  depends_on = [google_project_service_identity.pubsub]
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_dead_letters" {
  for_each = { for key, function in local.push_functions : key => function if function.dead_letter != null }

  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent

  depends_on = [google_project_service_identity.pubsub]
}

# Authenticated push: Pub/Sub mints the pusher's OIDC tokens.
resource "google_service_account_iam_member" "pubsub_agent_signs_as_pusher" {
  service_account_id = google_service_account.function["pusher"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent

  depends_on = [google_project_service_identity.pubsub]
}

# ---- Storage ---------------------------------------------------------------------------------

# Object viewer (storage: read) or object admin (storage: read-write) on the assets bucket.
resource "google_storage_bucket_iam_member" "assets" {
  for_each = local.asset_roles

  bucket = google_storage_bucket.assets.name
  role   = each.value
  member = google_service_account.function[each.key].member
}

# signs_urls: the function signs asset links with its own account through the IAM signBlob
# API (no key file exists).
resource "google_service_account_iam_member" "signs_own_urls" {
  for_each = local.url_signers

  service_account_id = google_service_account.function[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.function[each.key].member
}

resource "google_storage_bucket_iam_member" "sources_build_reader" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.function["build"].member
}

resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.function["build"].member
}

# ---- Secret Manager --------------------------------------------------------------------------

resource "google_secret_manager_secret_iam_member" "function" {
  for_each = { for grant in local.secret_readers : "${grant.account}:${grant.secret}" => grant }

  project   = var.project_id
  secret_id = local.secrets[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function[each.value.account].member
}

# ---- who may call each function (Cloud Run invoker on the function's service) --------------

# Public HTTP functions (the API): var.api_invokers, allUsers by default, as browsers need.
resource "google_cloud_run_v2_service_iam_member" "api_invokers" {
  for_each = {
    for pair in setproduct([for key, function in local.functions : key if function.public], var.api_invokers) :
    "${pair[0]}:${pair[1]}" => { function = pair[0], member = pair[1] }
  }

  project  = var.project_id
  location = google_cloudfunctions2_function.function[each.value.function].location
  name     = google_cloudfunctions2_function.function[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}

# Topic-triggered functions: only the pusher, whose token signs Pub/Sub's push requests.
resource "google_cloud_run_v2_service_iam_member" "pusher_invokes" {
  for_each = local.push_functions

  project  = var.project_id
  location = google_cloudfunctions2_function.function[each.key].location
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.function["pusher"].member
}

# Scheduled functions (the sweeper, with enable_sweeper): only the scheduler identity.
resource "google_cloud_run_v2_service_iam_member" "scheduler_invokes_sweeper" {
  for_each = local.scheduled_functions

  project  = var.project_id
  location = google_cloudfunctions2_function.function[each.key].location
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.function["scheduler"].member
}
