# The Cloud Functions (2nd gen). Entry points are the decorated functions in
# functions/orchestrator/main.py and functions/panel_worker/main.py; sources are the
# bundles of storage.tf.
#
#   function      entry point    bundle        called by
#   api           api            orchestrator  clients (HTTPS)
#   plan          plan           orchestrator  push subscription on the plan topic
#   worker        render_panel   panel_worker  push subscription on the panels topic
#   dead_letter   dead_letter    panel_worker  push subscription on the dead-letter topic
#   sweeper       sweep          panel_worker  Cloud Scheduler (only with enable_sweeper)

locals {
  # Read by functions/panelflow/settings.py at start-up. Production settings refuse any
  # *_EMULATOR_HOST and dev auth, so a misconfigured deployment stops instead of trusting
  # forged tokens. var.extra_environment comes last and wins.
  base_environment = {
    GOOGLE_CLOUD_PROJECT        = var.project_id
    PANELFLOW_ENV               = "production"
    PANELFLOW_BUCKET            = google_storage_bucket.assets.name
    PANELFLOW_PLAN_TOPIC        = google_pubsub_topic.plan.name
    PANELFLOW_PANELS_TOPIC      = google_pubsub_topic.panels.name
    PANELFLOW_DEAD_LETTER_TOPIC = google_pubsub_topic.dead_letter.name
    LOG_EXECUTION_ID            = "true"
    # A panel's lease outlives the worker's timeout, so a live worker never loses it and
    # the sweeper only re-queues panels whose worker is really gone.
    PANELFLOW_LEASE_SECONDS = tostring(var.worker_timeout_seconds + 60)
  }

  # Only the plan handler and the worker call models. settings.py checks the Gemini
  # credentials whenever a port is "google", so the API, the dead-letter handler and the
  # sweeper keep the default (offline) providers, which they never use, and need no key.
  function_environment = merge(local.base_environment, var.extra_environment)
  model_environment = merge(
    local.base_environment,
    { PANELFLOW_PROVIDERS = var.panelflow_providers },
    var.use_vertex_ai ? tomap({
      GOOGLE_GENAI_USE_VERTEXAI = "true"
      GOOGLE_CLOUD_LOCATION     = var.vertex_location
    }) : tomap({}),
    var.extra_environment,
  )

  # functions-framework serves one request per thread (THREADS, default 4 per CPU), so each
  # function below sets THREADS to its request concurrency.

  # Gemini through an API key; Vertex AI uses the service account instead (settings.py
  # refuses both at once).
  attach_gemini_key = var.attach_gemini_key && !var.use_vertex_ai
  gemini_key        = local.attach_gemini_key ? [google_secret_manager_secret.gemini_api_key.secret_id] : []
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

resource "google_cloudfunctions2_function" "api" {
  # checkov:skip=CKV_GCP_124:The public API must be reachable from browsers; every /jobs route checks a Firebase ID token in the function.
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-api"
  description = "POST /jobs, GET /jobs, GET /jobs/{id}, GET /healthz."
  labels      = local.labels

  build_config {
    runtime           = var.python_runtime
    entry_point       = "api"
    service_account   = google_service_account.function["build"].id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle["orchestrator"].name
      }
    }
  }

  service_config {
    available_memory                 = var.api_memory
    available_cpu                    = var.api_cpu
    timeout_seconds                  = var.api_timeout_seconds
    min_instance_count               = var.api_min_instances
    max_instance_count               = var.api_max_instances
    max_instance_request_concurrency = var.api_concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["api"].email
    environment_variables = merge(
      {
        THREADS = tostring(var.api_concurrency)
        # Browsers on these origins may call the API (the same list the bucket's CORS uses).
        PANELFLOW_CORS_ORIGINS = join(",", var.web_origins)
      },
      local.function_environment,
    )
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.function,
    google_project_iam_member.build_reads_function_sources,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.sources_build_reader,
  ]
}

resource "google_cloudfunctions2_function" "plan" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-plan"
  description = "Plans one job per message of the plan topic, then fans out one message per panel."
  labels      = local.labels

  build_config {
    runtime           = var.python_runtime
    entry_point       = "plan"
    service_account   = google_service_account.function["build"].id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle["orchestrator"].name
      }
    }
  }

  service_config {
    available_memory                 = var.plan_memory
    available_cpu                    = var.plan_cpu
    timeout_seconds                  = var.plan_timeout_seconds
    min_instance_count               = var.plan_min_instances
    max_instance_count               = var.plan_max_instances
    max_instance_request_concurrency = var.plan_concurrency
    # Only Pub/Sub push from this project reaches it, and only with the pusher's token.
    ingress_settings               = var.internal_ingress
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.function["plan"].email
    environment_variables          = merge({ THREADS = tostring(var.plan_concurrency) }, local.model_environment)

    dynamic "secret_environment_variables" {
      for_each = local.gemini_key
      content {
        key        = "GEMINI_API_KEY"
        project_id = var.project_id
        secret     = secret_environment_variables.value
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
    google_secret_manager_secret_iam_member.gemini_key_readers,
  ]
}

resource "google_cloudfunctions2_function" "worker" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-worker"
  description = "Renders one panel (image and narration) per message of the panels topic."
  labels      = local.labels

  build_config {
    runtime           = var.python_runtime
    entry_point       = "render_panel"
    service_account   = google_service_account.function["build"].id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle["panel_worker"].name
      }
    }
  }

  service_config {
    available_memory                 = var.worker_memory
    available_cpu                    = var.worker_cpu
    timeout_seconds                  = var.worker_timeout_seconds
    min_instance_count               = var.worker_min_instances
    max_instance_count               = var.worker_max_instances
    max_instance_request_concurrency = var.worker_concurrency
    ingress_settings                 = var.internal_ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["worker"].email
    environment_variables            = merge({ THREADS = tostring(var.worker_concurrency) }, local.model_environment)

    dynamic "secret_environment_variables" {
      for_each = local.gemini_key
      content {
        key        = "GEMINI_API_KEY"
        project_id = var.project_id
        secret     = secret_environment_variables.value
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
    google_secret_manager_secret_iam_member.gemini_key_readers,
  ]
}

resource "google_cloudfunctions2_function" "dead_letter" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-dead-letter"
  description = "Fails the panel (or job) of every message that exhausted its deliveries."
  labels      = local.labels

  build_config {
    runtime           = var.python_runtime
    entry_point       = "dead_letter"
    service_account   = google_service_account.function["build"].id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle["panel_worker"].name
      }
    }
  }

  service_config {
    available_memory                 = var.dead_letter_memory
    available_cpu                    = var.dead_letter_cpu
    timeout_seconds                  = var.dead_letter_timeout_seconds
    min_instance_count               = var.dead_letter_min_instances
    max_instance_count               = var.dead_letter_max_instances
    max_instance_request_concurrency = var.dead_letter_concurrency
    ingress_settings                 = var.internal_ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["dead_letter"].email
    environment_variables            = merge({ THREADS = tostring(var.dead_letter_concurrency) }, local.function_environment)
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.function,
    google_project_iam_member.build_reads_function_sources,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.sources_build_reader,
  ]
}

# The sweeper finds panels whose lease expired and jobs stuck in a state, and re-queues or
# finishes them (panelflow.services.sweeper).
resource "google_cloudfunctions2_function" "sweeper" {
  count = var.enable_sweeper ? 1 : 0

  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-sweeper"
  description = "Re-queues panels whose lease expired and finishes stuck jobs; called by Cloud Scheduler."
  labels      = local.labels

  build_config {
    runtime           = var.python_runtime
    entry_point       = "sweep"
    service_account   = google_service_account.function["build"].id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle["panel_worker"].name
      }
    }
  }

  service_config {
    available_memory                 = var.sweeper_memory
    available_cpu                    = var.sweeper_cpu
    timeout_seconds                  = var.sweeper_timeout_seconds
    min_instance_count               = 0
    max_instance_count               = var.sweeper_max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = var.internal_ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["sweeper"].email
    environment_variables            = local.function_environment
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.function,
    google_project_iam_member.build_reads_function_sources,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.sources_build_reader,
  ]
}
