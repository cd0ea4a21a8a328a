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

variable "notify_topic" {
  description = "Pub/Sub topic of job-finished messages (one per job; the notifier's)."
  type        = string
  default     = "panelflow-notify"
}

variable "exports_topic" {
  description = "Pub/Sub topic of export messages (PDF, CBZ, MP4 of a finished job)."
  type        = string
  default     = "panelflow-exports"
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

variable "function_sizes" {
  description = "Per-function size overrides by function (api, plan, worker, dead_letter, notifier, sweeper): any of memory, cpu, timeout_seconds, concurrency, min_instances, max_instances. Unset settings keep the defaults in local.default_function_sizes (pipeline.tf)."
  type = map(object({
    memory          = optional(string)
    cpu             = optional(string)
    timeout_seconds = optional(number)
    concurrency     = optional(number)
    min_instances   = optional(number)
    max_instances   = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.function_sizes) : contains(["api", "plan", "worker", "dead_letter", "notifier", "sweeper"], name)])
    error_message = "function_sizes names api, plan, worker, dead_letter, notifier or sweeper."
  }

  validation {
    condition     = alltrue([for size in values(var.function_sizes) : can(regex("^[0-9]+(Mi|Gi)$", coalesce(size.memory, "1Gi")))])
    error_message = "Memory is a quantity such as 512Mi or 1Gi."
  }

  validation {
    condition     = alltrue([for size in values(var.function_sizes) : can(tonumber(coalesce(size.cpu, "1")))])
    error_message = "CPU is a number such as 1 or 2."
  }

  # An HTTP function may time out after 1 s; the event handlers need 10 s to do anything.
  validation {
    condition = alltrue([
      for name, size in var.function_sizes :
      coalesce(size.timeout_seconds, 60) >= (name == "api" ? 1 : 10) && coalesce(size.timeout_seconds, 60) <= 3600
    ])
    error_message = "timeout_seconds is 1 to 3600 for the api, 10 to 3600 for the others."
  }

  validation {
    condition     = alltrue([for size in values(var.function_sizes) : coalesce(size.concurrency, 1) >= 1 && coalesce(size.concurrency, 1) <= 1000])
    error_message = "Concurrency is 1 to 1000."
  }

  validation {
    condition     = alltrue([for size in values(var.function_sizes) : coalesce(size.min_instances, 0) >= 0 && coalesce(size.max_instances, 1) >= 1])
    error_message = "min_instances cannot be negative and max_instances must be at least 1."
  }

  validation {
    condition     = try(coalesce(var.function_sizes["sweeper"].timeout_seconds, 300), 300) >= 15 && try(coalesce(var.function_sizes["sweeper"].timeout_seconds, 300), 300) <= 1800
    error_message = "The sweeper's timeout_seconds is 15 to 1800 (Cloud Scheduler's attempt deadline range)."
  }

  # The sweeper handles one sweep at a time and keeps no warm instance.
  validation {
    condition     = try(var.function_sizes["sweeper"].concurrency, null) == null && try(var.function_sizes["sweeper"].min_instances, null) == null
    error_message = "The sweeper's concurrency and min_instances are fixed (1 and 0)."
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
