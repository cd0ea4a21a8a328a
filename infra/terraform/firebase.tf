# Firebase: the project, the web client's Firebase app and Hosting site, and sign-in.
#
#   google_firebase_project          Firebase on the project (enable_firebase)
#   google_firebase_web_app          the web client's app; its config is output web_config
#   google_firebase_hosting_site     serves web/ (scripts/deploy_web.py uploads it)
#   google_identity_platform_config  Firebase Auth: email + password and anonymous sign-in,
#                                    and the domains a sign-in may come from
#
# The web app, its config and the Hosting site are google-beta resources in the provider
# versions pinned here (scripts/check_terraform_schema.py checks each block against the
# provider it names).

resource "google_firebase_project" "this" {
  provider = google-beta
  count    = var.enable_firebase ? 1 : 0

  project = var.project_id

  depends_on = [google_project_service.apis]
}

locals {
  hosting_site_id = coalesce(var.hosting_site_id, var.project_id)
  # Known at plan time (no resource attribute), so the API's CORS list is too.
  hosting_origins = var.enable_web_client ? [
    "https://${local.hosting_site_id}.web.app",
    "https://${local.hosting_site_id}.firebaseapp.com",
  ] : []

  # Origins whose pages call the API and fetch assets: the Hosting site and var.web_origins.
  web_origins = distinct(concat(local.hosting_origins, var.web_origins))

  # Where sign-in may happen: the Hosting site, the project's auth domain (the sign-in
  # helper pages live there) and the hosts of var.web_origins.
  auth_authorized_domains = distinct(concat(
    ["${var.project_id}.firebaseapp.com"],
    [for origin in local.hosting_origins : trimprefix(origin, "https://")],
    [for origin in var.web_origins : regex("^https?://([^:/]+)", origin)[0]],
    var.auth_authorized_domains,
  ))
}

resource "google_firebase_web_app" "web" {
  provider = google-beta
  count    = var.enable_web_client ? 1 : 0

  project      = var.project_id
  display_name = "Panelflow web client"
  # terraform destroy removes the app (Firebase keeps it restorable for 30 days).
  deletion_policy = "DELETE"

  depends_on = [google_firebase_project.this]
}

# apiKey, authDomain, projectId and appId of the web app: public values every page carries.
data "google_firebase_web_app_config" "web" {
  provider = google-beta
  count    = var.enable_web_client ? 1 : 0

  project    = var.project_id
  web_app_id = google_firebase_web_app.web[0].app_id
}

resource "google_firebase_hosting_site" "web" {
  provider = google-beta
  count    = var.enable_web_client ? 1 : 0

  project = var.project_id
  # The project id names the project's default site (<project>.web.app).
  site_id = local.hosting_site_id
  app_id  = google_firebase_web_app.web[0].app_id

  depends_on = [google_firebase_project.this, google_project_service.apis]
}

# Firebase Auth through Identity Platform, which lets Terraform own the sign-in methods.
resource "google_identity_platform_config" "auth" {
  count = var.configure_auth ? 1 : 0

  project = var.project_id
  # Anonymous accounts nobody used for 30 days are removed (their comics expire anyway).
  autodelete_anonymous_users = true
  authorized_domains         = local.auth_authorized_domains

  sign_in {
    allow_duplicate_emails = false

    email {
      enabled           = true
      password_required = true
    }

    anonymous {
      enabled = true
    }
  }

  depends_on = [google_project_service.apis, google_firebase_project.this]
}
