# Firestore: the database, its composite indexes and its security rules. Indexes and rules
# are read from emulators/, the same files the local emulator and the rules tests use, so
# there is one source of truth for each.

resource "google_firestore_database" "default" {
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = var.firestore_point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.firestore_delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  # terraform destroy leaves the data in place; delete it deliberately if ever needed.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.apis]
}

# emulators/firestore.indexes.json (Firebase CLI format):
#   jobs:   ownerUid ASC, createdAt DESC   ("my jobs", newest first)
#   panels: status ASC, finishedAt ASC     (first finished panel)
locals {
  firestore_indexes_file = jsondecode(file("${path.module}/../../emulators/firestore.indexes.json"))

  firestore_indexes = {
    for index in local.firestore_indexes_file.indexes :
    "${index.collectionGroup}:${join(",", [for field in index.fields : field.fieldPath])}" => index
  }
}

resource "google_firestore_index" "composite" {
  for_each = local.firestore_indexes

  project     = var.project_id
  database    = google_firestore_database.default.name
  collection  = each.value.collectionGroup
  query_scope = each.value.queryScope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = try(fields.value.order, null)
      array_config = try(fields.value.arrayConfig, null)
    }
  }
}

# Security rules: clients read their own jobs and panels and write nothing.
resource "google_firebaserules_ruleset" "firestore" {
  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/../../emulators/firestore.rules")
    }
  }

  # A ruleset is immutable: a rules change makes a new one, the release moves to it, and
  # only then is the old one deleted (a released ruleset cannot be).
  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  project      = var.project_id
  name         = "cloud.firestore"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"
}

# Retention (docs/security.md): Firestore deletes a document some time after the timestamp
# in its expiresAt field has passed (usually within a day). The code writes that field
# (functions/panelflow/domain/retention.py): idempotency keys 24 h after their request,
# stories PANELFLOW_STORY_RETENTION_DAYS after their job ends, usage records the day after
# their day. The sweeper deletes the same documents where there is no TTL (the emulator).
locals {
  firestore_ttl_fields = {
    idempotencyKeys = "expiresAt"
    jobInputs       = "expiresAt"
    usage           = "expiresAt"
    # Share links: an expired link already answers 404; its document goes some time later.
    shares = "expiresAt"
  }
}

resource "google_firestore_field" "ttl" {
  for_each = local.firestore_ttl_fields

  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = each.key
  field      = each.value

  ttl_config {}

  # Only range queries of the sweeper read it, within one collection: keep the default
  # single-field indexes.
}
