"""The irreducible work of starting a job, as a bare function: one Firestore write and one
publish. The benchmark compares POST /jobs against it on the same emulators."""

from __future__ import annotations

import json
import os
import uuid

import flask
import functions_framework
from google.cloud import firestore, pubsub_v1

_clients: dict[str, object] = {}


def _get(name: str, make):  # one client per warm instance, like the real functions
    if name not in _clients:
        _clients[name] = make()
    return _clients[name]


@functions_framework.http
def start(request: flask.Request):
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    db = _get("db", lambda: firestore.Client(project=project))
    # A lone message sent at once, as the API sends its plan message (no 10 ms batch wait).
    single = pubsub_v1.types.BatchSettings(max_messages=1, max_latency=0.0)
    publisher = _get("pub", lambda: pubsub_v1.PublisherClient(batch_settings=single))
    body = request.get_json(silent=True) or {}
    job_id = uuid.uuid4().hex
    db.collection("baselineJobs").document(job_id).create({"story": body.get("story", "")})
    topic = publisher.topic_path(project, os.environ["BASELINE_TOPIC"])
    publisher.publish(topic, json.dumps({"jobId": job_id}).encode()).result()
    return {"jobId": job_id}, 202
