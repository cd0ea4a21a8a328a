# Firebase (google-beta): makes the project a Firebase project so Firebase Auth can issue
# the ID tokens the API checks. Sign-in providers are configured afterwards (README).
resource "google_firebase_project" "this" {
  provider = google-beta
  count    = var.enable_firebase ? 1 : 0

  project = var.project_id

  depends_on = [google_project_service.apis]
}
