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

output "hosting_site" {
  description = "Firebase Hosting site of the web client: its id (for firebase deploy) and URL; null without enable_web_client."
  value = var.enable_web_client ? {
    site_id = google_firebase_hosting_site.web[0].site_id
    url     = google_firebase_hosting_site.web[0].default_url
  } : null
}

output "web_origins" {
  description = "Origins the API accepts cross-origin calls from (PANELFLOW_CORS_ORIGINS)."
  value       = local.web_origins
}

# The web client's /config.json, the same keys cli/panelflow_cli/webserver.py serves locally.
# scripts/web_config.py writes it from `terraform output -json`. Sensitive only so that the
# provider's marking of api_key, if any, is respected: a Firebase web API key is public in
# every page that uses it.
output "web_config" {
  description = "The web client's config.json (apiUrl, firebase {apiKey, authDomain, projectId, appId}, firestoreEmulatorHost, authEmulatorUrl, signIn); null without enable_web_client."
  sensitive   = true
  value = var.enable_web_client ? {
    apiUrl = google_cloudfunctions2_function.function["api"].service_config[0].uri
    firebase = {
      apiKey     = data.google_firebase_web_app_config.web[0].api_key
      authDomain = data.google_firebase_web_app_config.web[0].auth_domain
      projectId  = var.project_id
      appId      = google_firebase_web_app.web[0].app_id
    }
    firestoreEmulatorHost = ""
    authEmulatorUrl       = ""
    signIn = {
      google = var.enable_google_sign_in
    }
  } : null
}
