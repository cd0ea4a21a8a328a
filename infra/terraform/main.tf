# Shared values. The resources live in one file per concern:
#   apis.tf       the Google APIs the deployment uses
#   iam.tf        one service account per function, and every role they hold
#   storage.tf    assets bucket, source bucket and the zipped function bundles
#   secrets.tf    the Gemini API key's secret (its value is added by the operator)
#   pubsub.tf     topics and the push subscriptions that carry retries and dead letters
#   functions.tf  the Cloud Functions (2nd gen) and the Artifact Registry repository
#   firestore.tf  database, composite indexes and security rules (from emulators/)
#   firebase.tf   Firebase on the project, for Firebase Auth
#   scheduler.tf  the optional sweeper's Cloud Scheduler job
#   outputs.tf    what a client or an operator needs afterwards

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  labels = merge({ app = "panelflow", managed-by = "terraform" }, var.labels)

  build_dir = startswith(var.build_dir, "/") ? var.build_dir : "${path.module}/${var.build_dir}"

  assets_bucket = var.assets_bucket_name != "" ? var.assets_bucket_name : "${var.project_id}-panelflow-assets"
  source_bucket = var.source_bucket_name != "" ? var.source_bucket_name : "${var.project_id}-panelflow-sources"

  # Google-managed identity Pub/Sub uses to forward dead letters and to sign push requests.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
