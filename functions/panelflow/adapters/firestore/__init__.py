"""Parts of FirestoreJobStore (``panelflow.adapters.firestore_store``): document layout and
compare-and-set, admission of new jobs (idempotency keys, usage quotas), read queries."""
