# The Google APIs the deployment uses. disable_on_destroy = false: destroying this stack
# must not switch off an API something else in the project relies on.

locals {
  apis = toset(concat(
    [
      "cloudresourcemanager.googleapis.com",
      "serviceusage.googleapis.com",
      "iam.googleapis.com",
      # signBlob: the API function signs asset links with its own service account.
      "iamcredentials.googleapis.com",
      "logging.googleapis.com",
      # Cloud Functions 2nd gen: functions run on Cloud Run, built by Cloud Build into
      # Artifact Registry.
      "cloudfunctions.googleapis.com",
      "run.googleapis.com",
      "cloudbuild.googleapis.com",
      "artifactregistry.googleapis.com",
      # No Eventarc trigger is created (pubsub.tf pushes straight to the functions), but a
      # function switched to an event_trigger needs it, so it stays enabled.
      "eventarc.googleapis.com",
      "pubsub.googleapis.com",
      "firestore.googleapis.com",
      "firebaserules.googleapis.com",
      "storage.googleapis.com",
      "secretmanager.googleapis.com",
      "cloudscheduler.googleapis.com",
      # Providers: Gemini through an API key, narration through Cloud Text-to-Speech.
      "generativelanguage.googleapis.com",
      "texttospeech.googleapis.com",
      # Firebase Auth (Identity Platform) issues the ID tokens the API verifies.
      "firebase.googleapis.com",
      "identitytoolkit.googleapis.com",
      # Firebase Cloud Messaging (HTTP v1): the notifier's push notifications.
      "fcm.googleapis.com",
      # Firebase Hosting serves the web client.
      "firebasehosting.googleapis.com",
    ],
    var.use_vertex_ai ? ["aiplatform.googleapis.com"] : [],
  ))
}

resource "google_project_service" "apis" {
  for_each = local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Makes sure the Pub/Sub service agent exists before roles are granted to it.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.apis]
}
