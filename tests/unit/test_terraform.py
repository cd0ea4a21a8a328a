"""infra/terraform: the deployment's wiring, checked by parsing the HCL (no providers needed).

`terraform validate` and `plan` need the Google providers, which cannot be downloaded on
every machine; these tests read the .tf files with python-hcl2 instead and assert how the
pieces connect: entry points that exist, dead-letter and retry policies on the work
subscriptions, the Pub/Sub service agent's roles, one source of truth for the Firestore
rules and indexes, least-privilege roles, content-named bundles, a locked-down assets
bucket and ack deadlines that cover a function's run.

The functions, subscriptions and grants are derived from functions/pipeline.yaml;
tests/unit/test_terraform_pipeline.py evaluates that derivation against the declaration.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from panelflow.settings import table as settings_table

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "infra" / "terraform"
FUNCTIONS_DIR = ROOT / "functions"

PIPELINE = yaml.safe_load((FUNCTIONS_DIR / "pipeline.yaml").read_text())
# Terraform key (underscores) -> (entry point, staged bundle, functions-framework decorator)
DECORATORS = {"http": "http", "cloudevent": "cloud_event"}
FUNCTIONS = {
    name.replace("-", "_"): (
        function["entry_point"],
        function["bundle"],
        DECORATORS[function["signature"]],
    )
    for name, function in PIPELINE["functions"].items()
}
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}


# ---- reading the module ---------------------------------------------------------------------


def _unquote(text: str) -> str:
    """python-hcl2 keeps the quotes of string literals and block labels; drop them."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            _unquote(key): _clean(item)
            for key, item in value.items()
            if not (isinstance(key, str) and key.startswith("__"))
        }
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


class Module:
    """Every top-level block of the .tf files in one folder, by kind."""

    def __init__(self, directory: Path) -> None:
        self.files = sorted(directory.glob("*.tf"))
        self.resources: dict[str, dict[str, dict[str, Any]]] = {}
        self.data: dict[str, dict[str, dict[str, Any]]] = {}
        self.variables: dict[str, dict[str, Any]] = {}
        self.locals: dict[str, Any] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.terraform: list[dict[str, Any]] = []
        for path in self.files:
            with path.open() as handle:
                parsed = _clean(hcl2.load(handle))
            for kind, target in (("resource", self.resources), ("data", self.data)):
                for block in parsed.get(kind, []):
                    for rtype, named in block.items():
                        for name, body in named.items():
                            assert name not in target.get(rtype, {}), f"{rtype}.{name} twice"
                            target.setdefault(rtype, {})[name] = body
            for block in parsed.get("variable", []):
                self.variables.update(block)
            for block in parsed.get("output", []):
                self.outputs.update(block)
            for block in parsed.get("locals", []):
                self.locals.update(block)
            self.terraform.extend(parsed.get("terraform", []))

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        assert name in self.resources.get(rtype, {}), f"missing resource {rtype}.{name}"
        return self.resources[rtype][name]

    def default(self, variable: str) -> Any:
        assert variable in self.variables, f"missing variable {variable}"
        assert "default" in self.variables[variable], f"variable {variable} has no default"
        return self.variables[variable]["default"]


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The one nested block `name` of a resource body."""
    found = body.get(name)
    if isinstance(found, list):
        assert len(found) == 1, f"expected one {name} block, found {len(found)}"
        found = found[0]
    assert isinstance(found, dict), f"no {name} block"
    return found


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def evaluate(expression: Any, module: Module) -> int:
    """A number, var.x, or min()/max() of those, with variables at their defaults."""
    if isinstance(expression, int):
        return expression
    text = str(expression).strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    text = re.sub(r"var\.(\w+)", lambda m: repr(module.default(m.group(1))), text)
    tree = ast.parse(text, mode="eval")
    allowed = (ast.Expression, ast.Call, ast.Name, ast.Load, ast.Constant)
    for node in ast.walk(tree):
        assert isinstance(node, allowed), f"cannot evaluate {expression!r}"
        if isinstance(node, ast.Name):
            assert node.id in ("min", "max"), f"cannot evaluate {expression!r}"
    return int(eval(compile(tree, "<hcl>", "eval"), {"__builtins__": {}, "min": min, "max": max}))


def decorated_functions(main_py: Path) -> dict[str, str]:
    """Top-level functions of a main.py decorated by functions_framework -> decorator."""
    tree = ast.parse(main_py.read_text(), filename=str(main_py))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "functions_framework"
                ):
                    found[node.name] = target.attr
    return found


@pytest.fixture(scope="module")
def tf() -> Module:
    return Module(TF_DIR)


def functions_resource(tf: Module) -> dict[str, Any]:
    """The one function resource: for_each over the declaration's functions."""
    return tf.resource("google_cloudfunctions2_function", "function")


def push_subscription(tf: Module) -> dict[str, Any]:
    """The one push subscription resource: for_each over the topic-triggered functions."""
    return tf.resource("google_pubsub_subscription", "push")


def triggered_by(topic: str) -> dict[str, dict[str, Any]]:
    """Declared functions a topic triggers, by Terraform key."""
    return {
        name.replace("-", "_"): function
        for name, function in PIPELINE["functions"].items()
        if function["trigger"].get("topic") == topic
    }


# ---- layout -------------------------------------------------------------------------------------


def test_the_module_is_split_by_concern(tf: Module) -> None:
    names = {path.name for path in tf.files}
    expected = {
        "versions.tf",
        "variables.tf",
        "outputs.tf",
        "main.tf",
        "apis.tf",
        "iam.tf",
        "pubsub.tf",
        "functions.tf",
        "firestore.tf",
        "storage.tf",
        "scheduler.tf",
        "pipeline.tf",
        "firebase.tf",
    }
    assert expected <= names, f"missing {sorted(expected - names)}"
    assert (TF_DIR / "README.md").is_file()


def test_versions_are_pinned(tf: Module) -> None:
    settings = tf.terraform[0]
    assert settings["required_version"] == ">= 1.5"
    providers = block(settings, "required_providers")
    assert providers["google"]["source"] == "hashicorp/google"
    assert providers["google"]["version"].startswith("~> 6.")
    assert providers["google-beta"]["version"].startswith("~> 6.")
    assert providers["archive"]["source"] == "hashicorp/archive"


def test_required_apis_are_enabled(tf: Module) -> None:
    apis = set(re.findall(r"[a-z0-9]+\.googleapis\.com", str(tf.locals["apis"])))
    for api in (
        "cloudfunctions",
        "run",
        "cloudbuild",
        "artifactregistry",
        "eventarc",
        "pubsub",
        "firestore",
        "firebaserules",
        "storage",
        "secretmanager",
        "cloudscheduler",
        "texttospeech",
        "generativelanguage",
        "firebase",
        "identitytoolkit",
        "fcm",
    ):
        assert f"{api}.googleapis.com" in apis, api
    service = tf.resource("google_project_service", "apis")
    assert service["disable_on_destroy"] is False


# ---- functions ----------------------------------------------------------------------------------


def test_exactly_the_six_functions_are_declared(tf: Module) -> None:
    assert set(FUNCTIONS) == {
        "api",
        "plan",
        "worker",
        "dead_letter",
        "notifier",
        "sweeper",
        "exporter",
    }
    assert set(tf.resources["google_cloudfunctions2_function"]) == {"function"}
    resource = functions_resource(tf)
    assert resource["for_each"] == "${local.functions}"
    build = block(resource, "build_config")
    assert build["entry_point"] == "${each.value.entry_point}"
    source = block(block(build, "source"), "storage_source")
    assert "google_storage_bucket_object.bundle[each.value.bundle].name" in source["object"]
    assert "google_storage_bucket.sources.name" in source["bucket"]
    assert resource["name"] == "${var.name_prefix}-${each.value.name}"
    staging_py = (ROOT / "cli" / "panelflow_cli" / "staging.py").read_text()
    for name, (_, bundle, _) in FUNCTIONS.items():
        assert f'"{bundle}"' in staging_py, f"{name}: stage_functions.py does not stage {bundle}"


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_entry_point_is_a_decorated_function_of_its_bundle(name: str) -> None:
    entry_point, bundle, decorator = FUNCTIONS[name]
    main_py = FUNCTIONS_DIR / bundle / "main.py"
    defined = decorated_functions(main_py)
    assert entry_point in defined, f"{main_py.relative_to(ROOT)} defines no {entry_point}"
    # Push deliveries are CloudEvent conversions; the API and the sweeper are plain HTTP.
    assert defined[entry_point] == decorator, f"{entry_point} is @{defined[entry_point]}"


def test_the_sweeper_is_optional(tf: Module) -> None:
    functions = str(tf.locals["functions"])
    assert "!can(declared.trigger.schedule) || var.enable_sweeper" in functions
    assert "trigger.schedule" in str(tf.locals["scheduled_functions"]) or (
        "function.schedule" in str(tf.locals["scheduled_functions"])
    )
    for rtype, name in (
        ("google_cloud_scheduler_job", "sweep"),
        ("google_cloud_run_v2_service_iam_member", "scheduler_invokes_sweeper"),
    ):
        assert tf.resource(rtype, name)["for_each"] == "${local.scheduled_functions}", name
    assert tf.default("enable_sweeper") is True
    # Cloud Scheduler sends a plain POST, not a CloudEvent.
    scheduled = [n for n, f in PIPELINE["functions"].items() if "schedule" in f["trigger"]]
    assert scheduled == ["sweeper"]
    assert FUNCTIONS["sweeper"][2] == "http"


def test_each_function_runs_as_its_own_service_account(tf: Module) -> None:
    service = block(functions_resource(tf), "service_config")
    assert service["service_account_email"] == "${google_service_account.function[each.key].email}"
    accounts = str(tf.locals["service_accounts"])
    assert "for key, function in local.functions : key =>" in accounts
    assert "id = function.name" in accounts.replace("  ", " ") or "function.name" in accounts


def test_functions_get_the_settings_the_code_reads(tf: Module) -> None:
    read = set(settings_table.BY_NAME)
    base = tf.locals["base_environment"]
    assert isinstance(base, dict)
    for key in (
        "GOOGLE_CLOUD_PROJECT",
        "PANELFLOW_ENV",
        "PANELFLOW_BUCKET",
        "PANELFLOW_PLAN_TOPIC",
        "PANELFLOW_PANELS_TOPIC",
        "PANELFLOW_DEAD_LETTER_TOPIC",
        "PANELFLOW_EXPORTS_TOPIC",
    ):
        assert key in base, key
        assert key in read, f"the settings table does not read {key}"
    assert base["PANELFLOW_ENV"] == "production"
    assert base["GOOGLE_CLOUD_PROJECT"] == "${var.project_id}"
    assert "google_storage_bucket.assets.name" in base["PANELFLOW_BUCKET"]
    # Providers go to the model callers only (the settings want a Gemini key for "google").
    model = str(tf.locals["model_environment"])
    assert "local.base_environment" in model
    assert re.search(r"\bPANELFLOW_PROVIDERS\s*=\s*var\.panelflow_providers", model)
    assert "PANELFLOW_PROVIDERS" in read
    assert tf.default("panelflow_providers") == "google"
    environment = str(block(functions_resource(tf), "service_config")["environment_variables"])
    assert "each.value.models ? local.model_environment : local.function_environment" in environment
    assert "local.base_environment" in str(tf.locals["function_environment"])
    callers = {n for n, f in PIPELINE["functions"].items() if f["permissions"].get("models")}
    assert callers == {"plan", "worker"}


def test_only_the_model_callers_get_the_gemini_key(tf: Module) -> None:
    service = block(functions_resource(tf), "service_config")
    secret = str(service.get("dynamic", ""))
    assert "secret_environment_variables" in secret and "each.value.secrets" in secret
    assert "GEMINI_API_KEY" in str(tf.locals["secrets"])
    readers = {n for n, f in PIPELINE["functions"].items() if f["permissions"].get("secrets")}
    assert readers == {"plan", "worker"}
    for name in readers:
        assert PIPELINE["functions"][name]["permissions"]["secrets"] == ["gemini-api-key"]
    assert "google_secret_manager_secret_version" not in tf.resources, (
        "the key's value stays out of state"
    )


def test_function_sizes_default_as_documented(tf: Module) -> None:
    defaults = tf.locals["default_function_sizes"]
    assert defaults["worker"] == {
        "memory": "1Gi",
        "cpu": "1",
        "timeout_seconds": 300,
        "concurrency": 4,
        "min_instances": 0,
        "max_instances": 50,
    }
    assert defaults["api"]["memory"] == "512Mi" and defaults["api"]["concurrency"] == 80
    # Every deployed function has its sizes; the variable only overrides them.
    assert set(defaults) == set(FUNCTIONS)
    assert tf.default("function_sizes") == {}
    assert "local.default_function_sizes" in tf.locals["function_sizes"]
    assert "var.function_sizes" in tf.locals["function_sizes"]
    service = block(functions_resource(tf), "service_config")
    assert service["timeout_seconds"] == "${local.function_sizes[each.key].timeout_seconds}"
    assert (
        service["max_instance_request_concurrency"]
        == "${local.function_sizes[each.key].concurrency}"
    )


def test_only_the_api_accepts_traffic_from_outside(tf: Module) -> None:
    assert tf.default("internal_ingress") == "ALLOW_INTERNAL_ONLY"
    ingress = block(functions_resource(tf), "service_config")["ingress_settings"]
    assert ingress == '${each.value.public ? "ALLOW_ALL" : var.internal_ingress}'
    public = [n for n, f in PIPELINE["functions"].items() if f["trigger"].get("http") == "public"]
    assert public == ["api"]
    assert 'try(declared.trigger.http, "") == "public"' in str(tf.locals["functions"])


# ---- bundles --------------------------------------------------------------------------------------


def test_function_sources_are_named_by_content(tf: Module) -> None:
    objects = tf.resources["google_storage_bucket_object"]
    assert objects, "no source objects"
    for name, body in objects.items():
        assert "data.archive_file." in body["name"] and "output_md5" in body["name"], name
        assert body["name"].endswith(".zip"), name
    archive = tf.data["archive_file"]["bundle"]
    assert "local.build_dir" in archive["source_dir"]
    assert tf.default("build_dir") == "../../build"
    assert "local.pipeline.functions" in str(tf.locals["bundles"])
    staging_py = (ROOT / "cli" / "panelflow_cli" / "staging.py").read_text()
    for bundle in {function["bundle"] for function in PIPELINE["functions"].values()}:
        assert f'"{bundle}"' in staging_py, f"stage_functions.py does not stage {bundle}"


# ---- Pub/Sub ----------------------------------------------------------------------------------------


def test_topics_default_to_the_names_the_code_uses(tf: Module) -> None:
    assert tf.default("plan_topic") == "panelflow-plan"
    assert tf.default("panels_topic") == "panelflow-panels"
    assert tf.default("dead_letter_topic") == "panelflow-dead-letter"
    for name, variable in (
        ("plan", "plan_topic"),
        ("panels", "panels_topic"),
        ("dead_letter", "dead_letter_topic"),
    ):
        assert tf.resource("google_pubsub_topic", name)["name"] == f"${{var.{variable}}}"
        key = name.replace("_", "-")
        assert PIPELINE["topics"][key]["name"] == tf.default(variable), key
    assert set(tf.locals["topics"]) == set(PIPELINE["topics"])


@pytest.mark.parametrize("topic", ["plan", "panels"])
def test_work_subscriptions_dead_letter_and_retry(tf: Module, topic: str) -> None:
    found = triggered_by(topic)
    assert found, f"no function on the {topic} topic"
    for name, function in found.items():
        assert function["trigger"]["dead_letter"] == "dead-letter", name
    body = push_subscription(tf)
    assert body["for_each"] == "${local.push_functions}"
    assert "function.topic != null" in str(tf.locals["push_functions"])
    assert body["topic"] == "${local.topics[each.value.topic].id}"
    (policy,) = [entry["dead_letter_policy"] for entry in body["dynamic"]]
    assert "local.topics[each.value.dead_letter].id" in policy["for_each"]
    content = block(policy, "content")
    assert content["dead_letter_topic"] == "${dead_letter_policy.value}"
    assert content["max_delivery_attempts"] == "${var.max_delivery_attempts}"
    retry = block(body, "retry_policy")
    assert retry["minimum_backoff"] == "${var.retry_minimum_backoff}"
    assert retry["maximum_backoff"] == "${var.retry_maximum_backoff}"
    assert "var.message_retention_duration" in body["message_retention_duration"]
    assert block(body, "expiration_policy")["ttl"] == ""
    assert tf.default("max_delivery_attempts") == 5
    assert tf.default("retry_minimum_backoff") == "10s"
    assert tf.default("retry_maximum_backoff") == "600s"


def test_subscriptions_push_to_their_function_with_oidc(tf: Module) -> None:
    push = block(push_subscription(tf), "push_config")
    uri = "google_cloudfunctions2_function.function[each.key].service_config[0].uri"
    assert push["push_endpoint"].startswith(f"${{{uri}}}"), push["push_endpoint"]
    # functions-framework reads the topic (CloudEvent source) from the request path.
    assert (
        "/projects/${var.project_id}/topics/${local.topics[each.value.topic].name}"
        in push["push_endpoint"]
    )
    token = block(push, "oidc_token")
    assert token["service_account_email"] == "${local.push_invoker}"
    assert token["audience"] == f"${{{uri}}}"
    assert 'google_service_account.function["pusher"].email' in tf.locals["push_invoker"]
    invokers = tf.resource("google_cloud_run_v2_service_iam_member", "pusher_invokes")
    assert invokers["for_each"] == "${local.push_functions}"
    assert "google_cloudfunctions2_function.function[each.key]" in invokers["name"]
    assert invokers["role"] == "roles/run.invoker"
    assert {n for n, f in FUNCTIONS.items() if f[2] == "cloud_event"} == {
        "plan",
        "worker",
        "dead_letter",
        "notifier",
        "exporter",
    }


def test_dead_letter_topic_has_a_subscription(tf: Module) -> None:
    found = triggered_by("dead-letter")
    assert found, "nothing reads the dead-letter topic"
    for name, function in found.items():
        assert "dead_letter" not in function["trigger"], (
            f"{name} would dead-letter its own dead letters"
        )
    # Dead letters are kept for the longer retention.
    retention = push_subscription(tf)["message_retention_duration"]
    assert "contains(local.dead_letter_topics, each.value.topic)" in retention
    assert "var.dead_letter_retention_duration" in retention


def test_pubsub_service_agent_can_dead_letter(tf: Module) -> None:
    agent = tf.locals["pubsub_service_agent"]
    assert agent == (
        "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
    )
    publisher = tf.resource("google_pubsub_topic_iam_member", "pubsub_agent_publishes_dead_letters")
    assert publisher["for_each"] == "${local.dead_letter_topics}"
    assert publisher["topic"] == "${local.topics[each.value].name}"
    assert publisher["role"] == "roles/pubsub.publisher"
    assert publisher["member"] == "${local.pubsub_service_agent}"
    assert "function.dead_letter" in str(tf.locals["dead_letter_topics"])
    subscribers = tf.resource(
        "google_pubsub_subscription_iam_member", "pubsub_agent_acks_dead_letters"
    )
    assert subscribers["role"] == "roles/pubsub.subscriber"
    assert subscribers["member"] == "${local.pubsub_service_agent}"
    assert "local.push_functions" in subscribers["for_each"]
    assert "function.dead_letter != null" in subscribers["for_each"]
    assert subscribers["subscription"] == "${google_pubsub_subscription.push[each.key].name}"
    signer = tf.resource("google_service_account_iam_member", "pubsub_agent_signs_as_pusher")
    assert signer["role"] == "roles/iam.serviceAccountTokenCreator"
    assert signer["member"] == "${local.pubsub_service_agent}"


@pytest.mark.parametrize("function", ["worker", "plan", "dead_letter"])
def test_ack_deadline_covers_the_function_timeout(tf: Module, function: str) -> None:
    body = push_subscription(tf)
    assert body["ack_deadline_seconds"] == (
        "${min(600, local.function_sizes[each.key].timeout_seconds)}"
    )
    timeout = tf.locals["default_function_sizes"][function]["timeout_seconds"]
    ack = min(600, timeout)
    assert 10 <= ack <= 600
    assert ack >= timeout or ack == 600, f"{function}: ack {ack}s"


# ---- Firestore ----------------------------------------------------------------------------------


def test_rules_are_deployed_from_the_emulator_rules_file(tf: Module) -> None:
    ruleset = tf.resource("google_firebaserules_ruleset", "firestore")
    files = block(block(ruleset, "source"), "files")
    assert files["name"] == "firestore.rules"
    match = re.fullmatch(r'\$\{file\("\$\{path\.module\}/([^"]+)"\)\}', files["content"])
    assert match, files["content"]
    deployed = (TF_DIR / match.group(1)).resolve()
    emulator_config = json.loads((ROOT / "emulators" / "firebase.json").read_text())
    local = (ROOT / "emulators" / emulator_config["firestore"]["rules"]).resolve()
    assert deployed == local == ROOT / "emulators" / "firestore.rules"
    assert deployed.is_file()
    release = tf.resource("google_firebaserules_release", "firestore")
    assert release["name"] == "cloud.firestore"
    assert "google_firebaserules_ruleset.firestore.name" in release["ruleset_name"]


def test_indexes_are_deployed_from_the_emulator_indexes_file(tf: Module) -> None:
    assert "/../../emulators/firestore.indexes.json" in str(tf.locals["firestore_indexes_file"])
    index = tf.resource("google_firestore_index", "composite")
    assert "local.firestore_indexes" in index["for_each"]
    indexes = json.loads((ROOT / "emulators" / "firestore.indexes.json").read_text())
    assert indexes.get("fieldOverrides", []) == [], "field overrides need google_firestore_field"
    shapes = {
        (entry["collectionGroup"], tuple((f["fieldPath"], f.get("order")) for f in entry["fields"]))
        for entry in indexes["indexes"]
    }
    assert ("jobs", (("ownerUid", "ASCENDING"), ("createdAt", "DESCENDING"))) in shapes
    assert ("panels", (("status", "ASCENDING"), ("finishedAt", "ASCENDING"))) in shapes
    database = tf.resource("google_firestore_database", "default")
    assert database["name"] == "(default)" and database["type"] == "FIRESTORE_NATIVE"


# ---- IAM and storage ----------------------------------------------------------------------------


def test_no_primitive_role_is_granted_anywhere(tf: Module) -> None:
    for rtype, named in tf.resources.items():
        for name, body in named.items():
            for text in strings(body):
                assert text not in PRIMITIVE_ROLES, f"{rtype}.{name} grants {text}"
            if "iam" in rtype:
                assert not rtype.endswith(("_iam_policy", "_iam_binding")), (
                    f"{rtype}.{name}: authoritative IAM would remove grants made elsewhere"
                )
    for text in strings(tf.locals):
        assert text not in PRIMITIVE_ROLES, f"locals grant {text}"


def test_gemini_key_is_readable_by_the_model_callers_only(tf: Module) -> None:
    readers = tf.resource("google_secret_manager_secret_iam_member", "function")
    assert readers["role"] == "roles/secretmanager.secretAccessor"
    assert "local.secret_readers" in readers["for_each"]
    assert "local.secrets[secret].attached" in str(tf.locals["secret_readers"])
    assert "local.attach_gemini_key" in str(tf.locals["secrets"])
    declared = {n for n, f in PIPELINE["functions"].items() if f["permissions"].get("secrets")}
    assert declared == {"plan", "worker"}


def test_assets_bucket_is_private_and_expires_objects(tf: Module) -> None:
    assets = tf.resource("google_storage_bucket", "assets")
    assert assets["uniform_bucket_level_access"] is True
    assert assets["public_access_prevention"] == "enforced"
    assert block(assets, "versioning")["enabled"] is False
    rule = block(assets, "lifecycle_rule")
    assert block(rule, "condition")["age"] == "${var.asset_retention_days}"
    assert block(rule, "action")["type"] == "Delete"
    assert tf.default("asset_retention_days") == 30
    assert "local.web_origins" in str(assets["dynamic"])
    assert "var.web_origins" in str(tf.locals["web_origins"])
    assert tf.default("web_origins") == []
    sources = tf.resource("google_storage_bucket", "sources")
    assert sources["uniform_bucket_level_access"] is True
    assert sources["public_access_prevention"] == "enforced"
    assert sources["name"] != assets["name"]


def test_checkov_skips_carry_a_reason() -> None:
    for path in sorted(TF_DIR.glob("*.tf")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "checkov:skip" in line:
                assert re.search(r"checkov:skip=CKV2?_[A-Z0-9_]+:\S.{10,}", line), (
                    f"{path.name}:{number}: a skip needs a reason"
                )


def test_no_machine_specific_paths() -> None:
    """Paths in the module are relative to it; nothing names a directory of one machine."""
    absolute = re.compile(r"(?<![\w.}])/(?:work|root|home|tmp|Users)/")
    for path in sorted(TF_DIR.rglob("*")):
        if path.is_file() and not {".terraform", ".bundles"} & set(path.parts):
            match = absolute.search(path.read_text())
            assert match is None, f"{path.relative_to(ROOT)} names {match.group(0)}"


def test_every_reference_resolves_and_every_variable_is_used(tf: Module) -> None:
    """What `terraform validate` would catch first, without the providers it needs."""
    texts = []
    for named in list(tf.resources.values()) + list(tf.data.values()):
        texts.extend(strings(named))
    texts.extend(strings(tf.locals))
    texts.extend(strings(tf.outputs))
    for variable in tf.variables.values():
        texts.extend(strings(variable.get("validation", [])))
    everything = "\n".join(texts)
    for name in set(re.findall(r"\bvar\.(\w+)", everything)):
        assert name in tf.variables, f"var.{name} is not declared"
    for name in set(re.findall(r"\blocal\.(\w+)", everything)):
        assert name in tf.locals, f"local.{name} is not declared"
    for rtype, name in set(re.findall(r"(?<![\w.])(google(?:_beta)?_\w+)\.(\w+)", everything)):
        assert name in tf.resources.get(rtype, {}), f"{rtype}.{name} is not declared"
    for rtype, name in set(re.findall(r"\bdata\.(\w+)\.(\w+)", everything)):
        assert name in tf.data.get(rtype, {}), f"data.{rtype}.{name} is not declared"
    outside_validations = "\n".join(
        text
        for text in texts
        if not any(text in strings(v.get("validation", [])) for v in tf.variables.values())
    )
    unused = [name for name in tf.variables if f"var.{name}" not in outside_validations]
    assert not unused, f"declared but never used: {unused}"
    providers = tf.terraform[0]
    assert providers  # versions.tf parsed


# ---- formatting ---------------------------------------------------------------------------------


def test_terraform_fmt_is_clean() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail(
            "terraform is not on PATH: install Terraform >= 1.5 (fmt works offline, no providers "
            "needed) so this test can run `terraform fmt -check -recursive infra/terraform`"
        )
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TF_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


def test_the_panel_lease_outlives_the_worker_timeout(tf: Module) -> None:
    # A live worker must never lose its lease, or a second worker would pay again.
    source = (TF_DIR / "functions.tf").read_text()
    assert (
        'PANELFLOW_LEASE_SECONDS = tostring(local.function_sizes["worker"].timeout_seconds + 60)'
        in source
    )
