# Buckets and the functions' source bundles.

# Generated images and audio. Never public: clients get signed links from the API.
resource "google_storage_bucket" "assets" {
  # checkov:skip=CKV_GCP_62:Access logs would be a third bucket of logs per asset read; Cloud Audit Logs (data access) cover this bucket when an operator needs them.
  # checkov:skip=CKV_GCP_78:Versioning is off on purpose: assets are regenerable, written once under content-derived names, and deleted by age.
  project                     = var.project_id
  name                        = local.assets_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets
  labels                      = local.labels

  versioning {
    enabled = false
  }

  lifecycle_rule {
    condition {
      age = var.asset_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # Browsers of the web client fetch images and audio through signed links.
  dynamic "cors" {
    for_each = length(local.web_origins) > 0 ? [local.web_origins] : []
    content {
      origin          = cors.value
      method          = ["GET", "HEAD"]
      response_header = ["Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "ETag"]
      max_age_seconds = 3600
    }
  }

  depends_on = [google_project_service.apis]
}

# Zipped function sources, named by content so that a code change redeploys.
resource "google_storage_bucket" "sources" {
  # checkov:skip=CKV_GCP_62:Only Terraform and Cloud Functions read this bucket; Cloud Audit Logs cover it.
  # checkov:skip=CKV_GCP_78:Every bundle is immutable and named by its MD5; the staged tree is rebuilt from git, so versions add nothing.
  project                     = var.project_id
  name                        = local.source_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Holds nothing but bundles Terraform can rebuild from the repository.
  force_destroy = true
  labels        = local.labels

  versioning {
    enabled = false
  }

  depends_on = [google_project_service.apis]
}

# build/<function>/ is the staged, self-contained directory that
# `python3 scripts/stage_functions.py` writes: the function's folder plus the core package.
# One bundle per bundle name functions/pipeline.yaml declares.
locals {
  bundles = toset([for function in local.pipeline.functions : function.bundle])
}

data "archive_file" "bundle" {
  for_each = local.bundles

  type             = "zip"
  source_dir       = "${local.build_dir}/${each.key}"
  output_path      = "${path.module}/.bundles/${each.key}.zip"
  output_file_mode = "0644"
  excludes         = ["**/__pycache__/**", "**/*.pyc"]
}

resource "google_storage_bucket_object" "bundle" {
  for_each = local.bundles

  # A new MD5 is a new object name, which changes build_config.source of the functions that
  # use it, so Terraform rebuilds and redeploys exactly those functions.
  name         = "${each.key}-${data.archive_file.bundle[each.key].output_md5}.zip"
  bucket       = google_storage_bucket.sources.name
  source       = data.archive_file.bundle[each.key].output_path
  content_type = "application/zip"
}
