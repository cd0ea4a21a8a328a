"""Each function runs from an environment built from its bundle's requirements.txt only.

The environment must hold exactly what that file brings (its packages and their
dependencies, nothing from the development venv), so a dependency missing from a bundle
fails locally as it fails in Cloud Functions.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import time

import pytest
import requests

from panelflow.adapters.firestore_store import panel_id
from panelflow_cli import environments
from panelflow_cli import pipeline as declared
from panelflow_cli.stack import LocalStack
from stack_helpers import start_job, wait, watch

pytestmark = pytest.mark.stack

BUNDLES = sorted({function.bundle for function in declared.load().functions.values()})
# Installed into every new venv by the venv module itself, not by requirements.txt.
VENV_SEED = {"pip", "setuptools", "wheel"}

# Runs inside the function's environment: installed distributions, and the closure of
# requirements.txt through each distribution's own (marker-evaluated) requirements.
_CLOSURE = textwrap.dedent(
    """
    import json, re, sys
    from importlib import metadata
    from packaging.requirements import Requirement

    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    installed = {norm(d.metadata["Name"]): d for d in metadata.distributions()}
    wanted = []
    for line in open(sys.argv[1]):
        line = line.split("#", 1)[0].strip()
        if line:
            wanted.append((Requirement(line), ""))
    seen = set()
    while wanted:
        requirement, extra = wanted.pop()
        name = norm(requirement.name)
        env = {"extra": extra}
        if requirement.marker and not requirement.marker.evaluate(env):
            continue
        # The extras asked for are part of the key: "google-api-core" met first must not
        # hide a later "google-api-core[grpc]" (which brings grpcio-status).
        key = (name, extra, tuple(sorted(requirement.extras)))
        if key in seen:
            continue
        seen.add(key)
        dist = installed.get(name)
        if dist is None:
            print(json.dumps({"missing": name}))
            sys.exit(1)
        for sub in dist.requires or []:
            wanted.append((Requirement(sub), ""))
        for chosen in requirement.extras:
            for sub in dist.requires or []:
                wanted.append((Requirement(sub), chosen))
    print(json.dumps({"installed": sorted(installed), "closure": sorted({n for n, _, _ in seen})}))
    """
)


@pytest.mark.parametrize("bundle", BUNDLES)
def test_environment_holds_exactly_what_requirements_bring(bundle: str) -> None:
    environment = environments.ensure(bundle)
    requirements = environments.requirements_file(bundle)
    # packaging ships inside pip; load it from there so the check adds nothing to the venv.
    script = "import pip._vendor.packaging as p, sys; sys.modules['packaging'] = p\n"
    script += "import pip._vendor.packaging.requirements\n"
    script += "sys.modules['packaging.requirements'] = p.requirements\n" + _CLOSURE
    result = subprocess.run(
        [str(environments.python(environment)), "-c", script, str(requirements)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = json.loads(result.stdout)
    installed, closure = set(found["installed"]) - VENV_SEED, set(found["closure"])
    assert installed == closure, {
        "not brought by requirements.txt": sorted(installed - closure),
        "missing": sorted(closure - installed),
    }
    # Nothing of the development tools leaks in.
    assert not installed & {"pytest", "ruff", "mypy", "playwright", "panelflow", "requests-mock"}


def test_an_environment_is_reused_while_its_requirements_do_not_change() -> None:
    first = environments.ensure(BUNDLES[0])
    marker = first / environments.READY
    built = marker.stat().st_mtime
    assert environments.ensure(BUNDLES[0]) == first
    assert marker.stat().st_mtime == built
    assert environments.environment_key(environments.requirements_file(BUNDLES[0])) in first.name


def test_the_sweeper_requeues_a_lost_panel_from_its_own_environment(
    local_stack: LocalStack, stack_env: dict[str, str]
) -> None:
    """The sweeper publishes (google-cloud-pubsub) from the panel_worker bundle's environment."""
    from google.cloud import firestore

    job_id = start_job(
        stack_env["PANELFLOW_API_URL"], "sweep-user", "Ada rows. Bo waves.", panels=2
    )
    project = stack_env["GOOGLE_CLOUD_PROJECT"]
    assert wait(watch(project, job_id)).job["status"] == "completed"
    # A worker that died holding panel 1: the job back to rendering, the lease expired.
    db = firestore.Client(project=project)
    job_ref = db.collection("jobs").document(job_id)
    panel_ref = job_ref.collection("panels").document(panel_id(1))
    # The lease lives apart from the panel, out of clients' reach (panelLeases).
    lease_ref = db.collection("panelLeases").document(f"{job_id}-{panel_id(1)}")
    job_ref.update({"status": "rendering"})
    panel_ref.update({"status": "rendering"})
    lease_ref.update({"owner": "lost-worker", "expiresAt": time.time() - 5})
    timeline = watch(project, job_id)
    report = requests.post(
        local_stack.function_url("sweeper"), headers=local_stack.caller_headers(), timeout=30
    )
    assert report.status_code == 200, local_stack.logs("sweeper")[-3000:]
    assert report.json()["requeued"] >= 1
    wait(timeline)
    panel = panel_ref.get().to_dict()
    assert timeline.job["status"] == "completed", timeline.job
    assert panel["status"] == "done" and "lease" not in panel, panel
    assert lease_ref.get().to_dict()["attempts"] >= 2
