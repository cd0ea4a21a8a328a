"""scripts/check_terraform_schema.py: the offline provider-schema check finds what it should.

`make infra-check` runs the script against the real provider types (npm packages in
infra/tools); these tests run its logic on a small assembly in the same jsii format, so
they need no packages and show each kind of mistake is reported.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_checker() -> ModuleType:
    path = ROOT / "scripts" / "check_terraform_schema.py"
    spec = importlib.util.spec_from_file_location("check_terraform_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checker = _load_checker()

DOCS = "https://registry.terraform.io/providers/hashicorp/{provider}/6.50.0/docs"


def _prop(name: str, hcl: str, type_ref: dict[str, Any], optional: bool) -> dict[str, Any]:
    return {
        "name": name,
        "optional": optional,
        "type": type_ref,
        "docs": {"remarks": f"Docs at Terraform Registry: {{@link https://x#{hcl} X#{hcl}}}"},
    }


def _struct(properties: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "interface", "datatype": True, "properties": properties}


def _class(
    package: str, provider: str, kind: str, tf_type: str, config: str, getters: tuple[str, ...] = ()
) -> dict[str, Any]:
    url = f"{DOCS.format(provider=provider)}/{kind}/{tf_type.removeprefix('google_')}"
    return {
        "kind": "class",
        "properties": [{"name": name, "type": {"primitive": "string"}} for name in getters]
        + [{"name": "tfResourceType", "static": True, "type": {"primitive": "string"}}],
        "docs": {"summary": f"Represents a {{@link {url} {tf_type}}}."},
        "initializer": {
            "parameters": [
                {"name": "scope", "type": {"fqn": "constructs.Construct"}},
                {"name": "id", "type": {"primitive": "string"}},
                {"name": "config", "type": {"fqn": f"{package}.{config}"}},
            ]
        },
    }


def google_assembly() -> dict[str, Any]:
    package = "@cdktf/provider-google"
    string = {"primitive": "string"}
    number = {"primitive": "number"}
    policy = f"{package}.sub.SubDeadLetterPolicy"
    return {
        "types": {
            f"{package}.sub.Sub": _class(
                package,
                "google",
                "resources",
                "google_sub",
                "sub.SubConfig",
                ("name", "nameInput", "pushEndpointUri"),
            ),
            f"{package}.sub.SubConfig": _struct(
                [
                    _prop("name", "name", string, False),
                    _prop("topic", "topic", string, False),
                    _prop("ackDeadlineSeconds", "ack_deadline_seconds", number, True),
                    _prop(
                        "deadLetterPolicy",
                        "dead_letter_policy",
                        {"union": {"types": [{"fqn": "cdktf.IResolvable"}, {"fqn": policy}]}},
                        True,
                    ),
                    _prop(
                        "labels",
                        "labels",
                        {"collection": {"kind": "map", "elementtype": string}},
                        True,
                    ),
                ]
            ),
            policy: _struct(
                [
                    _prop("deadLetterTopic", "dead_letter_topic", string, True),
                    _prop("maxDeliveryAttempts", "max_delivery_attempts", number, False),
                ]
            ),
            f"{package}.dataThing.DataThing": _class(
                package, "google", "data-sources", "google_thing", "dataThing.DataThingConfig"
            ),
            f"{package}.dataThing.DataThingConfig": _struct([_prop("id", "id", string, False)]),
        }
    }


def beta_assembly() -> dict[str, Any]:
    package = "@cdktf/provider-google-beta"
    return {
        "types": {
            f"{package}.app.App": _class(
                package, "google-beta", "resources", "google_app", "app.AppConfig"
            ),
            f"{package}.app.AppConfig": _struct(
                [_prop("displayName", "display_name", {"primitive": "string"}, False)]
            ),
        }
    }


@pytest.fixture
def schema() -> Any:
    merged = checker.Schema()
    for provider, assembly in (("google", google_assembly()), ("google-beta", beta_assembly())):
        merged.add(checker.schema_from_jsii(assembly, provider))
    return merged


GOOD = """
resource "google_sub" "ok" {
  for_each = toset(["a"])
  name     = each.key
  topic    = "t"
  labels   = { a = "b" }

  dead_letter_policy {
    max_delivery_attempts = 5
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_sub" "dynamic" {
  name  = "n"
  topic = "t"

  dynamic "dead_letter_policy" {
    for_each = [1]
    content {
      max_delivery_attempts = dead_letter_policy.value
    }
  }
}

data "google_thing" "ok" {
  id = "x"
}

resource "google_app" "beta" {
  provider     = google-beta
  display_name = "x"
}

data "archive_file" "other" {
  type = "zip"
}
"""


def check(tmp_path: Path, schema: Any, text: str) -> Any:
    (tmp_path / "main.tf").write_text(text)
    return checker.check_module(tmp_path, schema)


def test_a_module_that_fits_the_schema_passes(tmp_path: Path, schema: Any) -> None:
    report = check(tmp_path, schema, GOOD)
    assert report.problems == []
    assert {f"{b.kind} {b.type}.{b.name}" for b in report.checked} == {
        "resource google_sub.ok",
        "resource google_sub.dynamic",
        "data google_thing.ok",
        "resource google_app.beta",
    }
    assert [b.type for b in report.unchecked] == ["archive_file"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('resource "google_sub" "x" {\n  name = "n"\n}\n', "required argument 'topic' is missing"),
        (
            'resource "google_sub" "x" {\n  name = "n"\n  topic = "t"\n  push = 1\n}\n',
            "unknown argument 'push'",
        ),
        (
            'resource "google_sub" "x" {\n  name = "n"\n  topic = "t"\n'
            '  dead_letter_policy {\n    dead_letter_topic = "d"\n  }\n}\n',
            "google_sub.x.dead_letter_policy: required argument 'max_delivery_attempts'",
        ),
        (
            'resource "google_sub" "x" {\n  name = "n"\n  topic = "t"\n'
            '  dynamic "dead_letter_policy" {\n    for_each = [1]\n'
            "    content {\n      attempts = 1\n    }\n  }\n}\n",
            "dead_letter_policy: unknown argument 'attempts'",
        ),
        (
            'resource "google_sub" "x" {\n  name = "n"\n  topic = "t"\n'
            '  dynamic "retry" {\n    for_each = [1]\n    content {}\n  }\n}\n',
            "dynamic 'retry' is not a block",
        ),
        (
            'resource "google_sub" "x" {\n  name = "n"\n  topic = "t"\n'
            "  dead_letter_policy = { max_delivery_attempts = 5 }\n}\n",
            "'dead_letter_policy' is a block, written as an argument",
        ),
        (
            'resource "google_sub" "x" {\n  name = "n"\n  topic = "t"\n'
            "  labels {\n    a = 1\n  }\n}\n",
            "'labels' is an argument, written as a block",
        ),
        (
            'resource "google_app" "x" {\n  display_name = "d"\n}\n',
            "provider 'google' has no such type (it is in google-beta)",
        ),
        ('resource "google_nothing" "x" {\n}\n', "provider 'google' has no such type"),
        ('data "google_thing" "x" {\n}\n', "required argument 'id' is missing"),
    ],
    ids=[
        "missing-required",
        "unknown",
        "nested-required",
        "dynamic-content",
        "dynamic-unknown",
        "block-as-argument",
        "argument-as-block",
        "beta-only",
        "no-such-type",
        "data-source",
    ],
)
def test_each_kind_of_mistake_is_reported(
    tmp_path: Path, schema: Any, text: str, problem: str
) -> None:
    report = check(tmp_path, schema, text)
    assert any(problem in line for line in report.problems), report.problems


def test_terraform_names_come_from_the_docs_anchor_or_snake_case() -> None:
    assert checker.snake_case("maxDeliveryAttempts") == "max_delivery_attempts"
    assert checker.snake_case("gkeHub2CustomEndpoint") == "gke_hub2_custom_endpoint"
    assembly = google_assembly()
    schema = checker.schema_from_jsii(assembly, "google")
    config = schema.types[("google", "resource", "google_sub")]
    assert set(schema.structs[config]) == {
        "name",
        "topic",
        "ack_deadline_seconds",
        "dead_letter_policy",
        "labels",
    }
    assert schema.structs[config]["labels"].block is None


def test_the_schema_cache_round_trips(schema: Any) -> None:
    again = checker.Schema.from_json(json.loads(json.dumps(schema.to_json())))
    assert again.structs == schema.structs
    assert again.types == schema.types
    assert again.attributes == schema.attributes


def test_missing_packages_exit_with_status_2(tmp_path: Path) -> None:
    assert checker.main(["--module", str(tmp_path), "--tools", str(tmp_path)]) == 2


def test_the_tools_folder_pins_the_provider_types() -> None:
    tools = ROOT / "infra" / "tools"
    package = json.loads((tools / "package.json").read_text())
    pinned = package["devDependencies"]
    assert pinned == {
        "@cdktf/provider-google": "16.12.1",
        "@cdktf/provider-google-beta": "16.12.1",
    }
    lock = json.loads((tools / "package-lock.json").read_text())
    for name, version in pinned.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/check_terraform_schema.py" in makefile
    assert "infra/tools/package-lock.json" in makefile


def test_attribute_references_name_real_attributes(tmp_path: Path, schema: Any) -> None:
    text = GOOD + (
        'resource "google_app" "reader" {\n'
        "  provider     = google-beta\n"
        '  display_name = "${google_sub.ok["a"].push_endpoint_uri} ${google_sub.dynamic.topic}"\n'
        "}\n"
        'output "x" {\n  value = data.google_thing.ok.id\n}\n'
    )
    report = check(tmp_path, schema, text)
    assert report.problems == []
    assert report.references == 3
    report = check(tmp_path, schema, text.replace("push_endpoint_uri", "push_uri"))
    assert report.problems == [
        "main.tf: resource google_app.reader: google_sub.ok has no attribute 'push_uri'"
    ]
    report = check(
        tmp_path, schema, text.replace("data.google_thing.ok.id", "data.google_thing.ok.url")
    )
    assert report.problems == ["main.tf: output x: data.google_thing.ok has no attribute 'url'"]
