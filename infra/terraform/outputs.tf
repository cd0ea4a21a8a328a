output "api_url" {
  description = "Base URL of the HTTP API (POST /jobs, GET /jobs, GET /jobs/{id}, GET /healthz); use it as PANELFLOW_API_URL."
  value       = google_cloudfunctions2_function.function["api"].service_config[0].uri
}

output "assets_bucket" {
  description = "Bucket of the generated images and audio (PANELFLOW_BUCKET)."
  value       = google_storage_bucket.assets.name
}

output "source_bucket" {
  description = "Bucket of the functions' source bundles."
  value       = google_storage_bucket.sources.name
}

output "topics" {
  description = "Pub/Sub topic names."
  value = {
    plan        = google_pubsub_topic.plan.name
    panels      = google_pubsub_topic.panels.name
    dead_letter = google_pubsub_topic.dead_letter.name
  }
}

output "subscriptions" {
  description = "Push subscriptions, by topic (plan, panels, dead_letter)."
  value = {
    for key, subscription in google_pubsub_subscription.push :
    replace(local.functions[key].topic, "-", "_") => subscription.name
  }
}

output "service_accounts" {
  description = "Service account e-mail of each function and invoker."
  value       = { for key, account in google_service_account.function : key => account.email }
}

output "functions" {
  description = "Cloud Run service URI of each function."
  value       = { for key, function in google_cloudfunctions2_function.function : key => function.service_config[0].uri }
}

output "gemini_secret" {
  description = "Secret Manager secret to add the Gemini API key to (gcloud secrets versions add)."
  value       = google_secret_manager_secret.gemini_api_key.secret_id
}

output "firestore_database" {
  description = "Firestore database name."
  value       = google_firestore_database.default.name
}
