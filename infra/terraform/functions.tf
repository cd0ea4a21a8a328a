# The Cloud Functions (2nd gen), one per function of functions/pipeline.yaml (pipeline.tf):
# its bundle, entry point, description and trigger come from the declaration, its sizes
# from the <function>_* variables. Sources are the bundles of storage.tf.
#
#   function      entry point    bundle        called by
#   api           api            orchestrator  clients (HTTPS)
#   plan          plan           orchestrator  push subscription on the plan topic
#   worker        render_panel   panel_worker  push subscription on the panels topic
#   dead_letter   dead_letter    panel_worker  push subscription on the dead-letter topic
#   notifier      notify         panel_worker  push subscription on the notify topic
#   sweeper       sweep          panel_worker  Cloud Scheduler (only with enable_sweeper)
#   exporter      export         exporter      push subscription on the exports topic

locals {
  # Read by functions/panelflow/settings/ at start-up. Production settings refuse any
  # *_EMULATOR_HOST and dev auth, so a misconfigured deployment stops instead of trusting
  # forged tokens. var.extra_environment comes last and wins.
  base_environment = {
    GOOGLE_CLOUD_PROJECT        = var.project_id
    PANELFLOW_ENV               = "production"
    PANELFLOW_BUCKET            = google_storage_bucket.assets.name
    PANELFLOW_PLAN_TOPIC        = google_pubsub_topic.plan.name
    PANELFLOW_PANELS_TOPIC      = google_pubsub_topic.panels.name
    PANELFLOW_NOTIFY_TOPIC      = google_pubsub_topic.notify.name
    PANELFLOW_DEAD_LETTER_TOPIC = google_pubsub_topic.dead_letter.name
    PANELFLOW_EXPORTS_TOPIC     = google_pubsub_topic.exports.name
    LOG_EXECUTION_ID            = "true"
    # The API holds no provider settings; it is told the planner to answer whether comics can
    # be translated (POST /jobs/{jobId}:translate).
    PANELFLOW_TRANSLATION_PLANNER = var.panelflow_providers
    # A panel's lease outlives the worker's timeout, so a live worker never loses it and
    # the sweeper only re-queues panels whose worker is really gone.
    PANELFLOW_LEASE_SECONDS = tostring(local.function_sizes["worker"].timeout_seconds + 60)
  }

  # Only the functions that declare models (the plan handler and the worker) call them.
  # settings/checks.py checks the Gemini credentials whenever a port is "google", so the API, the
  # dead-letter handler and the sweeper keep the default (offline) providers, which they
  # never use, and need no key.
  function_environment = tomap(merge(local.base_environment, var.extra_environment))
  model_environment = tomap(merge(
    local.base_environment,
    { PANELFLOW_PROVIDERS = var.panelflow_providers },
    var.use_vertex_ai ? tomap({
      GOOGLE_GENAI_USE_VERTEXAI = "true"
      GOOGLE_CLOUD_LOCATION     = var.vertex_location
    }) : tomap({}),
    var.extra_environment,
  ))

  # Gemini through an API key; Vertex AI uses the service account instead (settings/checks.py
  # refuses both at once).
  attach_gemini_key = var.attach_gemini_key && !var.use_vertex_ai
}

# Function images. Every deploy adds one; the cleanup policy keeps the newest few.
resource "google_artifact_registry_repository" "functions" {
  # checkov:skip=CKV_GCP_84:Images hold only this repository's public code; Google-managed encryption is enough.
  project                = var.project_id
  location               = var.region
  repository_id          = "${var.name_prefix}-functions"
  description            = "Panelflow function images built by Cloud Build."
  format                 = "DOCKER"
  labels                 = local.labels
  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.build_image_retention
    }
  }

  cleanup_policies {
    id     = "delete-older"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "604800s"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_cloudfunctions2_function" "function" {
  # checkov:skip=CKV_GCP_124:Only the public API (trigger http: public) allows all ingress: browsers call it and every /jobs route checks a Firebase ID token; the others take var.internal_ingress.
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-${each.value.name}"
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime           = var.python_runtime
    entry_point       = each.value.entry_point
    service_account   = google_service_account.function["build"].id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle[each.value.bundle].name
      }
    }
  }

  service_config {
    available_memory                 = local.function_sizes[each.key].memory
    available_cpu                    = local.function_sizes[each.key].cpu
    timeout_seconds                  = local.function_sizes[each.key].timeout_seconds
    min_instance_count               = local.function_sizes[each.key].min_instances
    max_instance_count               = local.function_sizes[each.key].max_instances
    max_instance_request_concurrency = local.function_sizes[each.key].concurrency
    # Browsers call the public API; only Pub/Sub push and Cloud Scheduler from this project
    # reach the others, and only with the invoker's token.
    ingress_settings               = each.value.public ? "ALLOW_ALL" : var.internal_ingress
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.function[each.key].email
    environment_variables = merge(
      # functions-framework serves one request per thread (default 4 per CPU).
      { THREADS = tostring(local.function_sizes[each.key].concurrency) },
      # Browsers on these origins may call a public function (the list the bucket's CORS uses).
      each.value.public ? tomap({ PANELFLOW_CORS_ORIGINS = join(",", local.web_origins) }) : tomap({}),
      each.value.models ? local.model_environment : local.function_environment,
    )

    # The declared secrets this deployment attaches (the Gemini key, unless Vertex AI or
    # attach_gemini_key = false).
    dynamic "secret_environment_variables" {
      for_each = [for secret in each.value.secrets : local.secrets[secret] if local.secrets[secret].attached]
      content {
        key        = secret_environment_variables.value.environment_variable
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret_id
        version    = "latest"
      }
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.function,
    google_project_iam_member.build_reads_function_sources,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.sources_build_reader,
    google_secret_manager_secret_iam_member.function,
  ]
}
