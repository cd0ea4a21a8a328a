"""The local stack takes its topics, subscriptions, routes and grants from functions/pipeline.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from panelflow_cli import pipeline as declared
from panelflow_cli.stack import LocalStack, StackOptions

ROOT = Path(__file__).resolve().parents[2]
DECLARATION = ROOT / "functions" / "pipeline.yaml"


def _stack(tmp_path: Path, raw: dict | None = None, **options: object) -> LocalStack:
    if raw is not None:
        path = tmp_path / "pipeline.yaml"
        path.write_text(yaml.safe_dump(raw))
        options["declaration"] = path
    stack = LocalStack(StackOptions(state_dir=tmp_path, **options))  # type: ignore[arg-type]
    stack._function_urls = {key: f"http://127.0.0.1/{key}" for key in stack.pipeline.functions}
    return stack


def test_routes_follow_the_declared_topic_triggers(tmp_path: Path) -> None:
    stack = _stack(tmp_path, panel_concurrency=12, plan_concurrency=3)
    routes = {route["url"]: route for route in stack._relay_routes()}
    raw = yaml.safe_load(DECLARATION.read_text())
    for key, function in raw["functions"].items():
        url = f"http://127.0.0.1/{key}"
        topic = function["trigger"].get("topic")
        if topic is None:
            assert url not in routes
            continue
        route = routes[url]
        assert route["topic"] == raw["topics"][topic]["name"]
        assert route["subscription"] == f"{raw['topics'][topic]['name']}-sub"
    assert routes["http://127.0.0.1/worker"]["concurrency"] == 12
    assert routes["http://127.0.0.1/plan"]["concurrency"] == 3


def test_a_function_added_to_the_declaration_gets_a_route_and_its_grants(
    tmp_path: Path,
) -> None:
    raw = yaml.safe_load(DECLARATION.read_text())
    raw["topics"]["exports"] = {"name": "panelflow-exports"}
    raw["functions"]["exporter"] = {
        "bundle": "panel_worker",
        "entry_point": "export",
        "signature": "cloudevent",
        "trigger": {"topic": "exports", "dead_letter": "dead-letter", "local_concurrency": 2},
        "permissions": {"publishes": [], "storage": "read-write", "secrets": []},
    }
    stack = _stack(tmp_path, raw)
    route = next(r for r in stack._relay_routes() if r["topic"] == "panelflow-exports")
    assert route["url"] == "http://127.0.0.1/exporter" and route["concurrency"] == 2
    stack.env.update(
        GOOGLE_CLOUD_PROJECT="demo-x",
        PUBSUB_EMULATOR_HOST="127.0.0.1:1",
        PANELFLOW_SIGNING_KEY_FILE="/dev/null",
    )
    env = stack.function_env("exporter")
    assert env["PUBSUB_EMULATOR_HOST"] != "127.0.0.1:1"  # its own gateway address
    assert "PANELFLOW_SIGNING_KEY_FILE" not in env  # it does not sign links


@pytest.mark.parametrize("key", ["api", "dead-letter", "sweeper"])
def test_secrets_and_model_settings_reach_only_the_functions_declaring_them(
    tmp_path: Path, key: str
) -> None:
    options = {"GEMINI_API_KEY": "k", "PANELFLOW_PROVIDERS": "google", "PANELFLOW_SIM_PLAN_S": "1"}
    stack = _stack(tmp_path, function_env=options)
    withheld = stack.function_env(key)
    assert "GEMINI_API_KEY" not in withheld and "PANELFLOW_PROVIDERS" not in withheld
    assert withheld["PANELFLOW_SIM_PLAN_S"] == "1"  # everything else passes
    # Told the planner, not given it: the API answers whether comics can be translated.
    assert withheld["PANELFLOW_TRANSLATION_PLANNER"] == "google"
    assert _stack(tmp_path).function_env(key)["PANELFLOW_TRANSLATION_PLANNER"] == "offline"
    for model_caller in ("plan", "worker"):
        given = stack.function_env(model_caller)
        assert given["GEMINI_API_KEY"] == "k" and given["PANELFLOW_PROVIDERS"] == "google"


def test_an_inconsistent_declaration_is_refused_by_name(tmp_path: Path) -> None:
    raw = yaml.safe_load(DECLARATION.read_text())
    raw["functions"]["api"]["permissions"]["publishes"] = ["nowhere"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(declared.DeclarationError, match="api: unknown topics nowhere"):
        declared.load(path)


def test_free_port_never_hands_out_a_port_twice_in_a_row() -> None:
    """The probe socket closes before a function binds its port: the kernel may offer the
    same port again meanwhile, which once gave two servers of a stack one port."""
    from panelflow_cli.processes import free_port

    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)


def test_free_ports_are_outside_the_range_outgoing_connections_use() -> None:
    """A port from the ephemeral range can be taken by any client's connection before its
    server binds it; listening ports come from below that range."""
    from pathlib import Path

    from panelflow_cli.processes import free_port

    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = [free_port() for _ in range(100)]
    assert all(port < low or port > high for port in ports)
    assert all(port >= 1024 for port in ports)
