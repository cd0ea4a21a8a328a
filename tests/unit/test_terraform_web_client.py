"""The deployed web client: Firebase app, sign-in, Hosting, and the config.json it reads.

Terraform creates the web app, Identity Platform's sign-in settings and the Hosting site;
scripts/web_config.py turns `terraform output -json` into the page's config.json (the keys
the local web server serves), and scripts/deploy_web.py stages and uploads the site.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import hcl2
import pytest

from fakes.deployment import terraform_outputs
from panelflow_cli.webserver import client_config

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "infra" / "terraform"


def _load(name: str) -> ModuleType:
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


web_config = _load("web_config")
deploy_web = _load("deploy_web")


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _clean(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return _unquote(value) if isinstance(value, str) else value


def tf_file(name: str) -> dict[str, Any]:
    with (TF_DIR / name).open() as handle:
        return _clean(hcl2.load(handle))


def resource(parsed: dict[str, Any], rtype: str, name: str) -> dict[str, Any]:
    for entry in parsed.get("resource", []):
        if rtype in entry and name in entry[rtype]:
            return entry[rtype][name]
    raise AssertionError(f"no {rtype}.{name}")


def provider(body: dict[str, Any]) -> str:
    return str(body.get("provider", "")).removeprefix("${").removesuffix("}")


def outputs_json(**overrides: Any) -> dict[str, Any]:
    return terraform_outputs(**overrides)


# ---- Terraform -----------------------------------------------------------------------------------


def test_the_web_config_output_has_the_keys_the_page_reads() -> None:
    outputs = {}
    for entry in tf_file("outputs.tf")["output"]:
        outputs.update(entry)
    text = str(outputs["web_config"]["value"])
    keys = set(re.findall(r"(\w+) = ", text))
    firebase = re.search(r"firebase = \{([^}]*)\}", text)
    assert firebase, text
    firebase_keys = set(re.findall(r"(\w+) = ", firebase.group(1)))
    sign_in = re.search(r"signIn = \{([^}]*)\}", text)
    assert sign_in, text
    sign_in_keys = set(re.findall(r"(\w+) = ", sign_in.group(1)))
    assert sign_in_keys == set(client_config({})["signIn"])
    local_keys = set(client_config({}))
    assert keys - firebase_keys - sign_in_keys == local_keys, "the keys the local web server serves"
    assert firebase_keys == set(web_config.FIREBASE_KEYS) | set(client_config({})["firebase"])
    assert "data.google_firebase_web_app_config.web[0].api_key" in text
    assert "google = var.enable_google_sign_in" in text
    assert outputs["web_config"]["sensitive"] is True
    assert set(web_config.REQUIRED_KEYS) == local_keys


def test_sign_in_allows_email_password_and_anonymous() -> None:
    auth = resource(tf_file("firebase.tf"), "google_identity_platform_config", "auth")
    (sign_in,) = auth["sign_in"]
    (email,) = sign_in["email"]
    (anonymous,) = sign_in["anonymous"]
    assert email == {"enabled": True, "password_required": True}
    assert anonymous == {"enabled": True}
    assert auth["authorized_domains"] == "${local.auth_authorized_domains}"
    assert "var.configure_auth" in auth["count"]


def test_the_web_app_and_hosting_site_are_google_beta_resources() -> None:
    parsed = tf_file("firebase.tf")
    for rtype, name in (
        ("google_firebase_project", "this"),
        ("google_firebase_web_app", "web"),
        ("google_firebase_hosting_site", "web"),
    ):
        assert provider(resource(parsed, rtype, name)) == "google-beta", rtype
    site = resource(parsed, "google_firebase_hosting_site", "web")
    assert site["app_id"] == "${google_firebase_web_app.web[0].app_id}"
    (data,) = [e for e in parsed["data"] if "google_firebase_web_app_config" in e]
    assert provider(data["google_firebase_web_app_config"]["web"]) == "google-beta"
    apis = (TF_DIR / "apis.tf").read_text()
    assert '"firebasehosting.googleapis.com"' in apis
    assert '"identitytoolkit.googleapis.com"' in apis


# ---- scripts/web_config.py -------------------------------------------------------------------------


def test_web_config_writes_the_page_config(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(outputs_json()))
    out = tmp_path / "web" / "config.json"
    assert web_config.main(["--outputs", str(outputs), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert set(written) == set(client_config({}))
    assert written["apiUrl"] == "https://api-xyz-uc.a.run.app"
    assert written["authEmulatorUrl"] == "" and written["signIn"] == {"google": False}
    assert written["firebase"] == {
        "apiKey": "AIza-test",
        "authDomain": "comics-prod.firebaseapp.com",
        "projectId": "comics-prod",
        "appId": "1:123:web:abc",
    }
    assert written["firestoreEmulatorHost"] == ""


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({}, "no web_config"),
        ({"web_config": {"value": None}}, "enable_web_client = false"),
        (outputs_json(firebase={"projectId": "p"}), "firebase.apiKey"),
        (outputs_json(apiUrl=""), "apiUrl"),
        (outputs_json(firestoreEmulatorHost="127.0.0.1:8080"), "emulator"),
    ],
    ids=["no-output", "disabled", "no-api-key", "no-api-url", "emulator"],
)
def test_web_config_refuses_an_unusable_config(outputs: dict[str, Any], message: str) -> None:
    with pytest.raises(web_config.ConfigError, match=message):
        web_config.web_config(outputs)


# ---- scripts/deploy_web.py and infra/hosting ---------------------------------------------------------


def fake_web(root: Path) -> Path:
    web = root / "web"
    (web / "src").mkdir(parents=True)
    (web / "src" / "app.js").write_text("import { x } from './config.js';\n")
    (web / "src" / "config.js").write_text("export const x = 1;\n")
    (web / "styles.css").write_text("body {}\n")
    (web / "manifest.webmanifest").write_text('{"name": "Panelflow"}\n')
    (web / "sw.js").write_text("const VERSION = '__PANELFLOW_VERSION__';\n")
    (web / "icons").mkdir()
    (web / "icons" / "icon-192.png").write_bytes(b"\x89PNG fake")
    (web / "index.html").write_text(
        '<script type="importmap">\n{"imports": {"a": "./node_modules/a/dist/index.js"}}\n'
        "</script>\n"
    )
    dist = web / "node_modules" / "a" / "dist"
    dist.mkdir(parents=True)
    (dist / "index.js").write_text(
        "import { c } from './chunk.js';\nexport * from 'b';\nconst l = import('../lazy.js');\n"
    )
    # A JSDoc type import names a file the bundle never loads (re2js does this).
    (dist / "chunk.js").write_text(
        "/** @type {import('./types.js').T} */\n// import './gone.js';\nexport const c = 1;\n"
    )
    (dist / "unused.cjs").write_text("module.exports = 1;\n")
    (dist.parent / "lazy.js").write_text("export default 1;\n")
    return web


def test_the_site_is_staged_with_only_the_modules_the_page_loads(tmp_path: Path) -> None:
    web = fake_web(tmp_path)
    stage = tmp_path / "build" / "hosting"
    config = web_config.web_config(outputs_json())
    files = deploy_web.stage_site(web, stage, config, "comics-prod")
    public = stage / "public"
    staged = {str(path.relative_to(public)) for path in files}
    assert staged == {
        "index.html",
        "styles.css",
        "config.json",
        "manifest.webmanifest",
        "sw.js",
        "icons/icon-192.png",
        "src/app.js",
        "src/config.js",
        "node_modules/a/dist/index.js",
        "node_modules/a/dist/chunk.js",
        "node_modules/a/lazy.js",
    }
    assert json.loads((public / "config.json").read_text()) == config
    hosting = json.loads((stage / "firebase.json").read_text())["hosting"]
    assert hosting["site"] == "comics-prod"
    assert hosting["public"] == "public"
    # The staged worker carries the shell's version: a changed shell is a new worker.
    worker = (public / "sw.js").read_text()
    assert "__PANELFLOW_VERSION__" not in worker
    version = re.search(r"const VERSION = '([0-9a-f]{16})';", worker)
    assert version is not None
    (web / "styles.css").write_text("body { color: red }\n")
    deploy_web.stage_site(web, stage, config, "comics-prod")
    assert version[1] not in (public / "sw.js").read_text()


def test_staging_stops_when_a_module_is_missing(tmp_path: Path) -> None:
    web = fake_web(tmp_path)
    (web / "node_modules" / "a" / "dist" / "chunk.js").unlink()
    with pytest.raises(deploy_web.DeployError, match="npm ci"):
        deploy_web.stage_site(web, tmp_path / "stage", web_config.web_config(outputs_json()), None)


def test_the_real_page_has_an_import_map_of_node_modules_files() -> None:
    targets = deploy_web.import_map_targets((ROOT / "web" / "index.html").read_text())
    assert targets
    assert all(target.startswith("./node_modules/") for target in targets)


def test_the_hosting_config_keeps_config_json_fresh() -> None:
    hosting = json.loads((ROOT / "infra" / "hosting" / "firebase.json").read_text())["hosting"]
    assert hosting["public"] == "public"
    # The staged tree holds only what the page loads, node_modules files included.
    assert not any("node_modules" in pattern for pattern in hosting["ignore"])
    fresh = [
        rule
        for rule in hosting["headers"]
        if any(h == {"key": "Cache-Control", "value": "no-cache"} for h in rule["headers"])
    ]
    assert any("json" in rule["source"] for rule in fresh)
    assert not (ROOT / "firebase.json").exists(), "the emulators' firebase.json is in emulators/"


def test_the_hosting_config_serves_the_worker_the_manifest_and_shared_links() -> None:
    hosting = json.loads((ROOT / "infra" / "hosting" / "firebase.json").read_text())["hosting"]
    rules = {
        rule["source"]: {h["key"]: h["value"] for h in rule["headers"]}
        for rule in hosting["headers"]
    }
    # The worker is checked on every load (a deploy takes over on the next one) and may
    # control the whole site.
    assert rules["/sw.js"] == {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    assert rules["**/*.webmanifest"]["Content-Type"] == "application/manifest+json"
    # /s/{token} is the app's page; the API decides whether the link still works.
    assert {"source": "/s/**", "destination": "/index.html"} in hosting["rewrites"]
    manifest = json.loads((ROOT / "web" / "manifest.webmanifest").read_text())
    for icon in manifest["icons"]:
        assert (ROOT / "web" / icon["src"].lstrip("/")).is_file(), icon


def test_deploys_use_the_firebase_cli_the_emulators_pin(tmp_path: Path) -> None:
    assert deploy_web.firebase_command("npx firebase-tools") == ["npx", "firebase-tools"]
    emulators = tmp_path / "emulators"
    (emulators / "node_modules" / ".bin").mkdir(parents=True)
    pinned = emulators / "node_modules" / ".bin" / "firebase"
    pinned.write_text("")
    assert deploy_web.firebase_command(None, emulators) == [str(pinned)]
    real = json.loads((ROOT / "emulators" / "package.json").read_text())
    assert "firebase-tools" in real["devDependencies"]
