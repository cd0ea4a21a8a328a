# Identities and roles. One service account per function, each holding only what its code
# does: roles on the one topic, bucket or secret it uses, never a primitive role
# (roles/owner, roles/editor, roles/viewer).
#
#   function      Firestore  publishes to        assets bucket  Gemini key
#   api           yes        plan topic          read (links)   no
#   plan          yes        panels topic        read/write     yes
#   worker        yes        -                   read/write     yes
#   dead_letter   yes        -                   -              no
#   sweeper       yes        plan, panels        -              no
#
# Two more identities call functions: "pusher" signs Pub/Sub's push requests, "scheduler"
# signs Cloud Scheduler's; "build" is the Cloud Build identity that builds the functions.

locals {
  service_accounts = {
    for key, account in {
      api         = { id = "api", title = "Panelflow orchestrator API", enabled = true }
      plan        = { id = "plan", title = "Panelflow plan handler", enabled = true }
      worker      = { id = "worker", title = "Panelflow panel worker", enabled = true }
      dead_letter = { id = "dead-letter", title = "Panelflow dead-letter handler", enabled = true }
      sweeper     = { id = "sweeper", title = "Panelflow sweeper", enabled = var.enable_sweeper }
      pusher      = { id = "pusher", title = "Panelflow Pub/Sub push invoker", enabled = true }
      scheduler   = { id = "scheduler", title = "Panelflow Cloud Scheduler invoker", enabled = var.enable_sweeper }
      build       = { id = "build", title = "Panelflow function builds", enabled = true }
    } : key => account if account.enabled
  }

  # Functions that read and write Firestore with server credentials.
  firestore_users = [for key in ["api", "plan", "worker", "dead_letter", "sweeper"] : key if contains(keys(local.service_accounts), key)]

  project_roles = concat(
    [for key in local.firestore_users : { account = key, role = "roles/datastore.user" }],
    [{ account = "build", role = "roles/logging.logWriter" }],
    var.use_vertex_ai ? [
      { account = "plan", role = "roles/aiplatform.user" },
      { account = "worker", role = "roles/aiplatform.user" },
    ] : [],
  )

  publishers = concat(
    [
      { account = "api", topic = "plan" },
      { account = "plan", topic = "panels" },
    ],
    var.enable_sweeper ? [
      { account = "sweeper", topic = "plan" },
      { account = "sweeper", topic = "panels" },
    ] : [],
  )

  topics_by_key = {
    plan        = google_pubsub_topic.plan
    panels      = google_pubsub_topic.panels
    dead_letter = google_pubsub_topic.dead_letter
  }
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
  topic   = local.topics_by_key[each.value.topic].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function[each.value.account].member
}

# Dead-lettering: the Pub/Sub service agent publishes exhausted messages to the dead-letter
# topic and acknowledges them on the subscription they came from.
resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent

  depends_on = [google_project_service_identity.pubsub]
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_dead_letters" {
  for_each = {
    plan   = google_pubsub_subscription.plan.name
    panels = google_pubsub_subscription.panels.name
  }

  project      = var.project_id
  subscription = each.value
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

resource "google_storage_bucket_iam_member" "assets_writers" {
  for_each = toset(["plan", "worker"])

  bucket = google_storage_bucket.assets.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.function[each.key].member
}

# The API reads objects to hand out signed links to a job's owner...
resource "google_storage_bucket_iam_member" "assets_api_reader" {
  bucket = google_storage_bucket.assets.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.function["api"].member
}

# ...and signs them with its own key through the IAM signBlob API (no key file exists).
resource "google_service_account_iam_member" "api_signs_blobs" {
  service_account_id = google_service_account.function["api"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.function["api"].member
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

resource "google_secret_manager_secret_iam_member" "gemini_key_readers" {
  for_each = local.attach_gemini_key ? toset(["plan", "worker"]) : toset([])

  project   = var.project_id
  secret_id = google_secret_manager_secret.gemini_api_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function[each.key].member
}

# ---- who may call each function (Cloud Run invoker on the function's service) --------------

resource "google_cloud_run_v2_service_iam_member" "api_invokers" {
  for_each = toset(var.api_invokers)

  project  = var.project_id
  location = google_cloudfunctions2_function.api.location
  name     = google_cloudfunctions2_function.api.name
  role     = "roles/run.invoker"
  member   = each.value
}

resource "google_cloud_run_v2_service_iam_member" "pusher_invokes" {
  for_each = {
    plan        = google_cloudfunctions2_function.plan
    worker      = google_cloudfunctions2_function.worker
    dead_letter = google_cloudfunctions2_function.dead_letter
  }

  project  = var.project_id
  location = each.value.location
  name     = each.value.name
  role     = "roles/run.invoker"
  member   = google_service_account.function["pusher"].member
}

resource "google_cloud_run_v2_service_iam_member" "scheduler_invokes_sweeper" {
  count = var.enable_sweeper ? 1 : 0

  project  = var.project_id
  location = google_cloudfunctions2_function.sweeper[0].location
  name     = google_cloudfunctions2_function.sweeper[0].name
  role     = "roles/run.invoker"
  member   = google_service_account.function["scheduler"].member
}
