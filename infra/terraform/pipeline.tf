# The pipeline as functions/pipeline.yaml declares it: every function, what triggers it and
# everything it may touch. The functions, their push subscriptions and every role a function's
# service account holds are derived from it here, so a permission is changed in the YAML
# and nowhere else (tests/unit/test_terraform_pipeline.py holds this module to it).
#
# Terraform keys use underscores ("dead-letter" in the YAML is "dead_letter" here), because
# they also name resource instances and outputs; the YAML key stays the function's name.

locals {
  pipeline = yamldecode(file("${path.module}/../../functions/pipeline.yaml"))

  # One normalised record per deployed function. Scheduled functions (the sweeper) are
  # deployed only with var.enable_sweeper.
  functions = {
    for name, declared in local.pipeline.functions : replace(name, "-", "_") => {
      name        = name
      bundle      = declared.bundle
      entry_point = declared.entry_point
      description = declared.description
      public      = try(declared.trigger.http, "") == "public"
      topic       = try(declared.trigger.topic, null)
      dead_letter = try(declared.trigger.dead_letter, null)
      schedule    = try(declared.trigger.schedule, null)
      firestore   = try(declared.permissions.firestore, "none")
      publishes   = try(declared.permissions.publishes, [])
      storage     = try(declared.permissions.storage, "none")
      signs_urls  = try(declared.permissions.signs_urls, false)
      secrets     = try(declared.permissions.secrets, [])
      models      = try(declared.permissions.models, false)
      users       = try(declared.permissions.users, "none")
      messaging   = try(declared.permissions.messaging, false)
    }
    if !can(declared.trigger.schedule) || var.enable_sweeper
  }

  # Functions a push subscription delivers to: one per topic-triggered function.
  push_functions = { for key, function in local.functions : key => function if function.topic != null }
  # Functions Cloud Scheduler calls.
  scheduled_functions = { for key, function in local.functions : key => function if function.schedule != null }

  # The declaration's topics, by their YAML key. Names stay variables (Terraform may prefix
  # them); their defaults are the declaration's names.
  topics = {
    plan          = google_pubsub_topic.plan
    panels        = google_pubsub_topic.panels
    notify        = google_pubsub_topic.notify
    "dead-letter" = google_pubsub_topic.dead_letter
    exports       = google_pubsub_topic.exports
  }

  # The declaration's secrets: the Secret Manager secret behind each, the variable a function
  # reads it from, and whether it is attached in this deployment.
  secrets = {
    "gemini-api-key" = {
      secret_id            = google_secret_manager_secret.gemini_api_key.secret_id
      environment_variable = "GEMINI_API_KEY"
      attached             = local.attach_gemini_key
    }
  }

  # ---- grants, one list per kind of role ---------------------------------------------------
  storage_roles = {
    read         = "roles/storage.objectViewer"
    "read-write" = "roles/storage.objectAdmin"
  }
  # Firestore IAM has no per-collection scope: these roles are project-wide.
  firestore_roles = {
    read         = "roles/datastore.viewer"
    "read-write" = "roles/datastore.user"
  }

  # Firebase Auth users: "read" looks a token's user up (revoked, disabled or deleted).
  users_roles = {
    read         = "roles/firebaseauth.viewer"
    "read-write" = "roles/firebaseauth.admin"
  }

  function_project_roles = concat(
    [
      for key, function in local.functions : { account = key, role = local.firestore_roles[function.firestore] }
      if function.firestore != "none"
    ],
    [
      for key, function in local.functions : { account = key, role = local.users_roles[function.users] }
      if function.users != "none"
    ],
    # Push notifications: FCM HTTP v1 messages:send needs cloudmessaging.messages.create.
    [
      for key, function in local.functions : { account = key, role = "roles/firebasecloudmessaging.admin" }
      if function.messaging
    ],
    # Models are reached through Vertex AI with the function's own identity, or with an API key.
    [
      for key, function in local.functions : { account = key, role = "roles/aiplatform.user" }
      if function.models && var.use_vertex_ai
    ],
  )

  publishers = flatten([
    for key, function in local.functions : [
      for topic in function.publishes : { account = key, topic = topic }
    ]
  ])

  asset_roles = {
    for key, function in local.functions : key => local.storage_roles[function.storage]
    if function.storage != "none"
  }

  url_signers = toset([for key, function in local.functions : key if function.signs_urls])

  secret_readers = flatten([
    for key, function in local.functions : [
      for secret in function.secrets : { account = key, secret = secret }
      if local.secrets[secret].attached
    ]
  ])

  # Topics the declaration dead-letters to: the Pub/Sub service agent publishes there.
  dead_letter_topics = toset([for function in local.push_functions : function.dead_letter if function.dead_letter != null])

  # Per-function sizes: these defaults, with what var.function_sizes sets over them. The
  # worker's timeout also sets the lease (functions.tf) and every push subscription's ack
  # deadline is min(600, its function's timeout); the sweeper handles one sweep at a time and
  # keeps no warm instance.
  default_function_sizes = {
    api         = { memory = "512Mi", cpu = "1", timeout_seconds = 60, concurrency = 80, min_instances = 0, max_instances = 10 }
    plan        = { memory = "1Gi", cpu = "1", timeout_seconds = 300, concurrency = 4, min_instances = 0, max_instances = 10 }
    worker      = { memory = "1Gi", cpu = "1", timeout_seconds = 300, concurrency = 4, min_instances = 0, max_instances = 50 }
    dead_letter = { memory = "512Mi", cpu = "1", timeout_seconds = 60, concurrency = 8, min_instances = 0, max_instances = 5 }
    notifier    = { memory = "256Mi", cpu = "1", timeout_seconds = 120, concurrency = 8, min_instances = 0, max_instances = 5 }
    sweeper     = { memory = "512Mi", cpu = "1", timeout_seconds = 300, concurrency = 1, min_instances = 0, max_instances = 1 }
    # Lays out pages and runs ffmpeg: one export per instance, room for a video's frames.
    exporter = { memory = "2Gi", cpu = "1", timeout_seconds = 300, concurrency = 1, min_instances = 0, max_instances = 10 }
  }
  function_sizes = {
    for name, defaults in local.default_function_sizes : name => merge(
      defaults,
      { for setting, value in try(var.function_sizes[name], {}) : setting => value if value != null },
    )
  }
}
