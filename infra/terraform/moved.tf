# Addresses from before the functions, subscriptions and grants were derived from
# functions/pipeline.yaml: an existing deployment's state moves to the new addresses on the
# next plan instead of destroying and recreating what it names.

moved {
  from = google_cloudfunctions2_function.api
  to   = google_cloudfunctions2_function.function["api"]
}

moved {
  from = google_cloudfunctions2_function.plan
  to   = google_cloudfunctions2_function.function["plan"]
}

moved {
  from = google_cloudfunctions2_function.worker
  to   = google_cloudfunctions2_function.function["worker"]
}

moved {
  from = google_cloudfunctions2_function.dead_letter
  to   = google_cloudfunctions2_function.function["dead_letter"]
}

moved {
  from = google_cloudfunctions2_function.sweeper[0]
  to   = google_cloudfunctions2_function.function["sweeper"]
}

moved {
  from = google_pubsub_subscription.plan
  to   = google_pubsub_subscription.push["plan"]
}

moved {
  from = google_pubsub_subscription.panels
  to   = google_pubsub_subscription.push["worker"]
}

moved {
  from = google_pubsub_subscription.dead_letter
  to   = google_pubsub_subscription.push["dead_letter"]
}

moved {
  from = google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters
  to   = google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters["dead-letter"]
}

moved {
  from = google_pubsub_subscription_iam_member.pubsub_agent_acks_dead_letters["panels"]
  to   = google_pubsub_subscription_iam_member.pubsub_agent_acks_dead_letters["worker"]
}

moved {
  from = google_storage_bucket_iam_member.assets_writers["plan"]
  to   = google_storage_bucket_iam_member.assets["plan"]
}

moved {
  from = google_storage_bucket_iam_member.assets_writers["worker"]
  to   = google_storage_bucket_iam_member.assets["worker"]
}

moved {
  from = google_storage_bucket_iam_member.assets_api_reader
  to   = google_storage_bucket_iam_member.assets["api"]
}

moved {
  from = google_service_account_iam_member.api_signs_blobs
  to   = google_service_account_iam_member.signs_own_urls["api"]
}

moved {
  from = google_secret_manager_secret_iam_member.gemini_key_readers["plan"]
  to   = google_secret_manager_secret_iam_member.function["plan:gemini-api-key"]
}

moved {
  from = google_secret_manager_secret_iam_member.gemini_key_readers["worker"]
  to   = google_secret_manager_secret_iam_member.function["worker:gemini-api-key"]
}

moved {
  from = google_cloud_run_v2_service_iam_member.api_invokers["allUsers"]
  to   = google_cloud_run_v2_service_iam_member.api_invokers["api:allUsers"]
}

moved {
  from = google_cloud_run_v2_service_iam_member.scheduler_invokes_sweeper[0]
  to   = google_cloud_run_v2_service_iam_member.scheduler_invokes_sweeper["sweeper"]
}

moved {
  from = google_cloud_scheduler_job.sweep[0]
  to   = google_cloud_scheduler_job.sweep["sweeper"]
}
