# Terraform and provider versions. Commit the .terraform.lock.hcl that the first
# `terraform init` writes, so every later init gets the same provider builds.
terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.20"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.20"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
  # Quota and billing of the APIs Terraform calls go to the target project, so a
  # user's own credentials work without a quota project of their own.
  user_project_override = true
  billing_project       = var.project_id
}

# Only google_firebase_project needs the beta provider.
provider "google-beta" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}
