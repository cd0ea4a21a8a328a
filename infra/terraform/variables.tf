# ---- project and naming ------------------------------------------------------------------

variable "project_id" {
  description = "The Google Cloud project to deploy into (it must have billing enabled)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "Region of the functions, the buckets, the build repository and the scheduler job."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Firestore location: a multi-region such as nam5 or eur3, or a region. It cannot be changed after creation."
  type        = string
  default     = "nam5"
}

variable "name_prefix" {
  description = "Prefix of every named resource (functions, service accounts, subscriptions, scheduler job)."
  type        = string
  default     = "panelflow"

  validation {
    # Service account ids are at most 30 characters; the longest suffix is "-dead-letter".
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.name_prefix))
    error_message = "name_prefix must be 2-16 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "labels" {
  description = "Extra labels put on every resource that takes labels."
  type        = map(string)
  default     = {}
}

# ---- application settings (environment of the functions) ---------------------------------

variable "panelflow_providers" {
  description = "PANELFLOW_PROVIDERS for every function: google (Gemini and Cloud Text-to-Speech), offline or simulated."
  type        = string
  default     = "google"

  validation {
    condition     = contains(["google", "offline", "simulated"], var.panelflow_providers)
    error_message = "panelflow_providers must be one of google, offline, simulated."
  }
}

variable "extra_environment" {
  description = "Extra environment variables for every function, e.g. PANELFLOW_MAX_PANELS or PANELFLOW_LEASE_SECONDS. They override the defaults this module sets."
  type        = map(string)
  default     = {}

  validation {
    condition     = !contains(keys(var.extra_environment), "PANELFLOW_ENV")
    error_message = "PANELFLOW_ENV is always production here; local settings belong to the local stack."
  }
}

variable "attach_gemini_key" {
  description = "Give the plan handler and the panel worker GEMINI_API_KEY from Secret Manager. The secret needs a version before the functions are created (see README); set false to deploy with offline or simulated providers and no key."
  type        = bool
  default     = true
}

variable "gemini_secret_id" {
  description = "Secret Manager secret id that holds the Gemini API key. Terraform creates the secret, never its value."
  type        = string
  default     = "panelflow-gemini-api-key"
}

variable "secret_replica_locations" {
  description = "Regions to keep the Gemini key in (user-managed replication); empty means automatic replication."
  type        = list(string)
  default     = []
}

variable "use_vertex_ai" {
  description = "Reach Gemini through Vertex AI with the functions' service accounts (roles/aiplatform.user) instead of an API key; the key is then not attached."
  type        = bool
  default     = false
}

variable "vertex_location" {
  description = "GOOGLE_CLOUD_LOCATION of the Vertex AI calls when use_vertex_ai is true (global, or a region that serves the models)."
  type        = string
  default     = "global"
}

variable "enable_firebase" {
  description = "Add Firebase to the project (Firebase Auth issues the ID tokens the API verifies). Set false when the project is already a Firebase project."
  type        = bool
  default     = true
}

variable "enable_web_client" {
  description = "Create the web client's Firebase web app (its config is output web_config) and the Firebase Hosting site that serves web/; the site's origins join the API's CORS list and the authorized sign-in domains."
  type        = bool
  default     = true
}

variable "hosting_site_id" {
  description = "Firebase Hosting site id of the web client (<id>.web.app); null means the project id, the project's default site."
  type        = string
  default     = null

  validation {
    condition     = var.hosting_site_id == null || can(regex("^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$", var.hosting_site_id))
    error_message = "hosting_site_id is lowercase letters, digits and hyphens, 4-63 characters."
  }
}

variable "configure_auth" {
  description = "Let Terraform own Firebase Auth's settings through Identity Platform: email + password and anonymous sign-in enabled, and the authorized domains. Identity Platform bills above its free tier (README)."
  type        = bool
  default     = true
}

variable "auth_authorized_domains" {
  description = "Extra domains sign-in may happen on, besides the Hosting site, the project's firebaseapp.com domain and the hosts of web_origins (e.g. [\"localhost\"] while developing against this project)."
  type        = list(string)
  default     = []
}

# ---- topics and delivery -------------------------------------------------------------------

variable "plan_topic" {
  description = "Pub/Sub topic of plan messages (one per job)."
  type        = string
  default     = "panelflow-plan"
}

variable "panels_topic" {
  description = "Pub/Sub topic of panel messages (one per panel)."
  type        = string
  default     = "panelflow-panels"
}

variable "dead_letter_topic" {
  description = "Pub/Sub topic that receives messages whose deliveries were exhausted."
  type        = string
  default     = "panelflow-dead-letter"
}

variable "max_delivery_attempts" {
  description = "Deliveries of a plan or panel message before Pub/Sub moves it to the dead-letter topic."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub accepts 5 to 100 delivery attempts."
  }
}

variable "retry_minimum_backoff" {
  description = "Shortest wait before Pub/Sub redelivers a failed message."
  type        = string
  default     = "10s"

  validation {
    condition     = try(tonumber(trimsuffix(var.retry_minimum_backoff, "s")) >= 0 && tonumber(trimsuffix(var.retry_minimum_backoff, "s")) <= 600 && endswith(var.retry_minimum_backoff, "s"), false)
    error_message = "retry_minimum_backoff is a duration in seconds such as \"10s\", at most 600s."
  }
}

variable "retry_maximum_backoff" {
  description = "Longest wait before Pub/Sub redelivers a failed message."
  type        = string
  default     = "600s"

  validation {
    condition     = try(tonumber(trimsuffix(var.retry_maximum_backoff, "s")) >= 0 && tonumber(trimsuffix(var.retry_maximum_backoff, "s")) <= 600 && endswith(var.retry_maximum_backoff, "s"), false)
    error_message = "retry_maximum_backoff is a duration in seconds such as \"600s\", at most 600s."
  }
}

variable "message_retention_duration" {
  description = "How long the plan and panel subscriptions keep unacknowledged messages."
  type        = string
  default     = "86400s"

  validation {
    condition     = try(endswith(var.message_retention_duration, "s") && tonumber(trimsuffix(var.message_retention_duration, "s")) >= 600 && tonumber(trimsuffix(var.message_retention_duration, "s")) <= 604800, false)
    error_message = "message_retention_duration is between \"600s\" and \"604800s\" (7 days)."
  }
}

variable "dead_letter_retention_duration" {
  description = "How long the dead-letter subscription keeps messages its handler has not acknowledged."
  type        = string
  default     = "604800s"

  validation {
    condition     = try(endswith(var.dead_letter_retention_duration, "s") && tonumber(trimsuffix(var.dead_letter_retention_duration, "s")) >= 600 && tonumber(trimsuffix(var.dead_letter_retention_duration, "s")) <= 604800, false)
    error_message = "dead_letter_retention_duration is between \"600s\" and \"604800s\" (7 days)."
  }
}

# ---- sweeper ---------------------------------------------------------------------------------

variable "enable_sweeper" {
  description = "Deploy the sweeper function (entry point sweep) and the Cloud Scheduler job that calls it: it re-queues panels whose worker died and ends jobs that stopped moving."
  type        = bool
  default     = true
}

variable "sweep_schedule" {
  description = "Cron schedule of the sweeper, in UTC; null means the schedule functions/pipeline.yaml declares (every minute)."
  type        = string
  default     = null
}

# ---- storage ---------------------------------------------------------------------------------

variable "assets_bucket_name" {
  description = "Name of the bucket for images and audio; empty means <project_id>-panelflow-assets."
  type        = string
  default     = ""
}

variable "source_bucket_name" {
  description = "Name of the bucket for the functions' source bundles; empty means <project_id>-panelflow-sources."
  type        = string
  default     = ""
}

variable "asset_retention_days" {
  description = "Days after which generated images and audio are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.asset_retention_days >= 1
    error_message = "asset_retention_days must be at least 1."
  }
}

variable "web_origins" {
  description = "Extra origins of the web client, e.g. [\"https://comics.example.com\"]: they join the Hosting site's origins in the API's CORS list and the assets bucket's CORS rule, and their hosts are authorized sign-in domains."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for origin in var.web_origins : can(regex("^https?://[^/*]+$", origin))])
    error_message = "Each web origin is scheme://host[:port], with no path and no wildcard."
  }
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete the assets bucket with its objects (keep false in production)."
  type        = bool
  default     = false
}

variable "firestore_delete_protection" {
  description = "Protect the Firestore database from deletion."
  type        = bool
  default     = true
}

variable "firestore_point_in_time_recovery" {
  description = "Enable Firestore point-in-time recovery (7 days of versions; billed as storage)."
  type        = bool
  default     = false
}

# ---- build -----------------------------------------------------------------------------------

variable "build_dir" {
  description = "Folder holding the staged functions (build/orchestrator, build/panel_worker); relative paths are relative to this module. Run python3 scripts/stage_functions.py first."
  type        = string
  default     = "../../build"
}

variable "python_runtime" {
  description = "Cloud Functions runtime of every function."
  type        = string
  default     = "python311"

  validation {
    condition     = can(regex("^python3[0-9]+$", var.python_runtime))
    error_message = "python_runtime is a Python runtime id such as python311 or python312."
  }
}

variable "build_image_retention" {
  description = "Function images kept in the Artifact Registry repository (most recent versions); older ones are deleted."
  type        = number
  default     = 5

  validation {
    condition     = var.build_image_retention >= 1
    error_message = "Keep at least one image."
  }
}

# ---- function sizes --------------------------------------------------------------------------
# Cloud Run rule: a concurrency above 1 needs at least 1 CPU.

variable "api_memory" {
  description = "Memory of the orchestrator API function."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.api_memory))
    error_message = "Memory is a quantity such as 512Mi or 1Gi."
  }
}

variable "api_cpu" {
  description = "vCPUs of the orchestrator API function."
  type        = string
  default     = "1"

  validation {
    condition     = can(tonumber(var.api_cpu))
    error_message = "CPU is a number such as 1 or 2."
  }
}

variable "api_timeout_seconds" {
  description = "Request timeout of the orchestrator API function."
  type        = number
  default     = 60

  validation {
    condition     = var.api_timeout_seconds >= 1 && var.api_timeout_seconds <= 3600
    error_message = "An HTTP function times out after 1 to 3600 seconds."
  }
}

variable "api_concurrency" {
  description = "Requests one API instance serves at once."
  type        = number
  default     = 80

  validation {
    condition     = var.api_concurrency >= 1 && var.api_concurrency <= 1000
    error_message = "Concurrency is 1 to 1000."
  }
}

variable "api_min_instances" {
  description = "Warm API instances kept running (above 0 removes cold starts and costs money)."
  type        = number
  default     = 0

  validation {
    condition     = var.api_min_instances >= 0
    error_message = "api_min_instances cannot be negative."
  }
}

variable "api_max_instances" {
  description = "Upper bound of API instances."
  type        = number
  default     = 10

  validation {
    condition     = var.api_max_instances >= 1
    error_message = "api_max_instances must be at least 1."
  }
}

variable "plan_memory" {
  description = "Memory of the plan handler (it may draw character reference sheets)."
  type        = string
  default     = "1Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.plan_memory))
    error_message = "Memory is a quantity such as 512Mi or 1Gi."
  }
}

variable "plan_cpu" {
  description = "vCPUs of the plan handler."
  type        = string
  default     = "1"

  validation {
    condition     = can(tonumber(var.plan_cpu))
    error_message = "CPU is a number such as 1 or 2."
  }
}

variable "plan_timeout_seconds" {
  description = "Timeout of one plan delivery; the plan subscription's ack deadline is min(600, this)."
  type        = number
  default     = 300

  validation {
    condition     = var.plan_timeout_seconds >= 10 && var.plan_timeout_seconds <= 3600
    error_message = "plan_timeout_seconds is 10 to 3600."
  }
}

variable "plan_concurrency" {
  description = "Plan messages one instance handles at once."
  type        = number
  default     = 4

  validation {
    condition     = var.plan_concurrency >= 1 && var.plan_concurrency <= 1000
    error_message = "Concurrency is 1 to 1000."
  }
}

variable "plan_min_instances" {
  description = "Warm plan-handler instances."
  type        = number
  default     = 0

  validation {
    condition     = var.plan_min_instances >= 0
    error_message = "plan_min_instances cannot be negative."
  }
}

variable "plan_max_instances" {
  description = "Upper bound of plan-handler instances."
  type        = number
  default     = 10

  validation {
    condition     = var.plan_max_instances >= 1
    error_message = "plan_max_instances must be at least 1."
  }
}

variable "worker_memory" {
  description = "Memory of the panel worker."
  type        = string
  default     = "1Gi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.worker_memory))
    error_message = "Memory is a quantity such as 512Mi or 1Gi."
  }
}

variable "worker_cpu" {
  description = "vCPUs of the panel worker."
  type        = string
  default     = "1"

  validation {
    condition     = can(tonumber(var.worker_cpu))
    error_message = "CPU is a number such as 1 or 2."
  }
}

variable "worker_timeout_seconds" {
  description = "Timeout of one panel delivery; the panel subscription's ack deadline is min(600, this)."
  type        = number
  default     = 300

  validation {
    condition     = var.worker_timeout_seconds >= 10 && var.worker_timeout_seconds <= 3600
    error_message = "worker_timeout_seconds is 10 to 3600."
  }
}

variable "worker_concurrency" {
  description = "Panels one worker instance renders at once (image and audio calls mostly wait on the network)."
  type        = number
  default     = 4

  validation {
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= 1000
    error_message = "Concurrency is 1 to 1000."
  }
}

variable "worker_min_instances" {
  description = "Warm worker instances."
  type        = number
  default     = 0

  validation {
    condition     = var.worker_min_instances >= 0
    error_message = "worker_min_instances cannot be negative."
  }
}

variable "worker_max_instances" {
  description = "Upper bound of worker instances; with worker_concurrency it caps panels in flight (and paid model calls at once)."
  type        = number
  default     = 50

  validation {
    condition     = var.worker_max_instances >= 1
    error_message = "worker_max_instances must be at least 1."
  }
}

variable "dead_letter_memory" {
  description = "Memory of the dead-letter handler."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.dead_letter_memory))
    error_message = "Memory is a quantity such as 512Mi or 1Gi."
  }
}

variable "dead_letter_cpu" {
  description = "vCPUs of the dead-letter handler."
  type        = string
  default     = "1"

  validation {
    condition     = can(tonumber(var.dead_letter_cpu))
    error_message = "CPU is a number such as 1 or 2."
  }
}

variable "dead_letter_timeout_seconds" {
  description = "Timeout of one dead-letter delivery; its subscription's ack deadline is min(600, this)."
  type        = number
  default     = 60

  validation {
    condition     = var.dead_letter_timeout_seconds >= 10 && var.dead_letter_timeout_seconds <= 3600
    error_message = "dead_letter_timeout_seconds is 10 to 3600."
  }
}

variable "dead_letter_concurrency" {
  description = "Dead letters one instance handles at once."
  type        = number
  default     = 8

  validation {
    condition     = var.dead_letter_concurrency >= 1 && var.dead_letter_concurrency <= 1000
    error_message = "Concurrency is 1 to 1000."
  }
}

variable "dead_letter_min_instances" {
  description = "Warm dead-letter-handler instances."
  type        = number
  default     = 0

  validation {
    condition     = var.dead_letter_min_instances >= 0
    error_message = "dead_letter_min_instances cannot be negative."
  }
}

variable "dead_letter_max_instances" {
  description = "Upper bound of dead-letter-handler instances."
  type        = number
  default     = 5

  validation {
    condition     = var.dead_letter_max_instances >= 1
    error_message = "dead_letter_max_instances must be at least 1."
  }
}

variable "sweeper_memory" {
  description = "Memory of the sweeper."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.sweeper_memory))
    error_message = "Memory is a quantity such as 512Mi or 1Gi."
  }
}

variable "sweeper_cpu" {
  description = "vCPUs of the sweeper."
  type        = string
  default     = "1"

  validation {
    condition     = can(tonumber(var.sweeper_cpu))
    error_message = "CPU is a number such as 1 or 2."
  }
}

variable "sweeper_timeout_seconds" {
  description = "Timeout of one sweep; the scheduler job's attempt deadline follows it (at most 1800 s)."
  type        = number
  default     = 300

  validation {
    condition     = var.sweeper_timeout_seconds >= 15 && var.sweeper_timeout_seconds <= 1800
    error_message = "sweeper_timeout_seconds is 15 to 1800 (Cloud Scheduler's attempt deadline range)."
  }
}

variable "sweeper_max_instances" {
  description = "Upper bound of sweeper instances (one is enough: sweeps are idempotent and scheduled)."
  type        = number
  default     = 1

  validation {
    condition     = var.sweeper_max_instances >= 1
    error_message = "sweeper_max_instances must be at least 1."
  }
}

variable "internal_ingress" {
  description = "Ingress of the functions only Pub/Sub and Cloud Scheduler call. ALLOW_INTERNAL_ONLY admits those services from this project; ALLOW_ALL still requires the invoker's OIDC token."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_INTERNAL_ONLY", "ALLOW_ALL"], var.internal_ingress)
    error_message = "internal_ingress is ALLOW_INTERNAL_ONLY or ALLOW_ALL."
  }
}

variable "api_invokers" {
  description = "Members allowed to call the API function at the network edge. The default, allUsers, is what browsers need: every /jobs route still requires a Firebase ID token checked by the function. Use a group or service accounts for a private deployment."
  type        = list(string)
  default     = ["allUsers"]
}

variable "enable_google_sign_in" {
  description = "Show \"Continue with Google\" in the web client. The Google provider of Identity Platform needs an OAuth client, made in the console (see README)."
  type        = bool
  default     = false
}
