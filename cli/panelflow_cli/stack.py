"""The local stack: what deploys, run on this machine.

Real Firestore, Pub/Sub and Firebase Auth emulators and a Storage emulator; every function
of functions/pipeline.yaml under functions-framework, from its staged bundle (build/) and
its own environment built from that bundle's requirements.txt; a delivery relay in place of
push subscriptions and Cloud Scheduler. Each function reaches Pub/Sub and Storage through
addresses of its own that grant exactly what the declaration grants it (its service
account's IAM), and gets only the secrets and model settings it declares.

Everything binds to 127.0.0.1 on free ports. State lives in a folder (default
``.panelflow/``): ``stack.json`` (processes), ``local.env`` (what clients need), ``logs/``.
"""

from __future__ import annotations

import compileall
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_urlsafe

from panelflow_cli import emulators, environments, function_guard, staging
from panelflow_cli import pipeline as declared
from panelflow_cli.processes import (
    HOST,
    ProcessGroup,
    StackError,
    alive,
    free_port,
    stop_processes,
)

__all__ = [
    "HOST",
    "LocalStack",
    "StackError",
    "StackOptions",
    "free_port",
    "read_env_file",
    "read_state",
    "stop_recorded",
    "write_env_file",
]

DEFAULT_PROJECT = "demo-panelflow"
BUCKET = "panelflow-assets"
# Delivery attempts before Pub/Sub moves a message to the dead-letter topic (5 is its minimum).
MAX_DELIVERY_ATTEMPTS = 5
# Settings that choose and configure the model providers: like Terraform, only functions
# that declare ``models`` get them (the others keep the offline defaults they never use).
PROVIDER_VARIABLES = (
    "PANELFLOW_PROVIDERS",
    "PANELFLOW_PLANNER",
    "PANELFLOW_IMAGES",
    "PANELFLOW_VOICE",
)
# Settings variables named after the topics each function's code reads.
TOPIC_VARIABLES = {
    "plan": "PANELFLOW_PLAN_TOPIC",
    "panels": "PANELFLOW_PANELS_TOPIC",
    "notify": "PANELFLOW_NOTIFY_TOPIC",
    "dead-letter": "PANELFLOW_DEAD_LETTER_TOPIC",
    "exports": "PANELFLOW_EXPORTS_TOPIC",
}


@dataclass
class StackOptions:
    state_dir: Path
    project_id: str = DEFAULT_PROJECT
    # Panels rendered at once: relay concurrency and worker threads both follow it.
    panel_concurrency: int = 16
    plan_concurrency: int = 4
    # Seconds a delivery may run before the relay gives up on it (and nacks).
    delivery_timeout_s: float = 300.0
    # Extra environment for the functions (providers, limits, fault injection); secrets and
    # provider settings among them reach only the functions that declare them.
    function_env: Mapping[str, str] = field(default_factory=dict)
    # Start only the emulators (contract and integration tests of the adapters).
    emulators_only: bool = False
    lease_seconds: int = 120
    # Redelivery backoff of a failed message, seconds (a subscription's retry policy).
    retry_backoff: tuple[float, float] = (1.0, 10.0)
    # How often the sweeper runs (Cloud Scheduler in production), seconds.
    sweep_interval_s: float = 30.0
    # Fault drills: the relay delivers every message twice, concurrently.
    duplicate_deliveries: bool = False
    # Serve the reference web client (web/) and allow its origin to call the API (CORS).
    web: bool = True
    # The pipeline declaration (default functions/pipeline.yaml of the repository).
    declaration: Path | None = None


class LocalStack:
    """Starts and stops the local stack; one instance per state folder."""

    def __init__(self, options: StackOptions, root: Path | None = None) -> None:
        self.options = options
        self.root = root or staging.repo_root()
        self.state_dir = options.state_dir.resolve()
        self.log_dir = self.state_dir / "logs"
        self.group = ProcessGroup(self.log_dir)
        self.env: dict[str, str] = {}
        self.pipeline = declared.load(options.declaration or declared.declaration_path(self.root))
        # Per function: its Pub/Sub gateway port and its Storage port (its IAM).
        self._pubsub_ports = {key: free_port() for key in self.pipeline.functions}
        self._storage_ports = {key: free_port() for key in self.pipeline.functions}
        self._function_urls: dict[str, str] = {}
        # The relay's proof to the event functions that it is the relay (function_guard).
        self._caller_secret = token_urlsafe(32)

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return dict(self.group.processes)

    # ---- public -------------------------------------------------------------------------

    def start(self) -> dict[str, str]:
        """Starts everything and writes local.env; stops what it started if anything fails."""
        if read_state(self.state_dir):
            raise StackError(
                f"a stack is already recorded in {self.state_dir}; run 'panelflow down' first"
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_emulators()
            if not self.options.emulators_only:
                self._start_gateway()
                self._start_functions()
                self._start_relay()
                if self.options.web:
                    self._start_web()
            self._write_state()
        except BaseException:
            self.stop()
            raise
        return dict(self.env)

    def stop(self) -> None:
        self.group.stop()
        for name in ("stack.json", "local.env", "signing-key.pem"):
            (self.state_dir / name).unlink(missing_ok=True)

    def logs(self, name: str) -> str:
        return self.group.logs(name)

    def function_url(self, key: str) -> str:
        """Where function ``key`` of functions/pipeline.yaml listens (the relay calls it)."""
        return self._function_urls[key]

    def caller_headers(self) -> dict[str, str]:
        """What the relay sends so that an event function answers it (function_guard)."""
        return {function_guard.CALLER_HEADER: self._caller_secret}

    def function_env(self, key: str) -> dict[str, str]:
        """The environment function ``key`` runs with (also used by tests of its grants)."""
        function = self.pipeline.functions[key]
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("PYTHON", "VIRTUAL_ENV"))
        }
        env.update(self.env)
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "PANELFLOW_ENV": "local",
                "PANELFLOW_LEASE_SECONDS": str(self.options.lease_seconds),
                "THREADS": str(max(self.options.panel_concurrency, 8)),
                "WORKERS": "1",
                # This function's own view of Pub/Sub and Storage: what its IAM allows.
                "PUBSUB_EMULATOR_HOST": f"{HOST}:{self._pubsub_ports[key]}",
                "STORAGE_EMULATOR_HOST": f"http://{HOST}:{self._storage_ports[key]}",
            }
        )
        if not function.signs_urls:
            env.pop("PANELFLOW_SIGNING_KEY_FILE", None)
        if self.options.web:
            env["PANELFLOW_CORS_ORIGINS"] = self._web_origins()
        secrets = {self.pipeline.secrets[secret] for secret in function.secrets}
        withheld = set(self.pipeline.secrets.values()) - secrets
        if not function.models:
            withheld |= set(PROVIDER_VARIABLES)
            # Without provider settings the API still answers whether comics can be translated.
            chosen = {**env, **self.options.function_env}
            planner = chosen.get("PANELFLOW_PLANNER") or chosen.get("PANELFLOW_PROVIDERS")
            env["PANELFLOW_TRANSLATION_PLANNER"] = planner or "offline"
        env.update({k: v for k, v in self.options.function_env.items() if k not in withheld})
        for name in withheld:
            env.pop(name, None)
        return env

    # ---- emulators ----------------------------------------------------------------------

    def _start_emulators(self) -> None:
        ports = {name: free_port() for name in ("firestore", "pubsub", "storage", "auth")}
        rules = self.root / "emulators" / "firestore.rules"
        project = self.options.project_id
        # The Auth emulator is the slowest to start (~6 s): spawned first, waited for last.
        self.group.spawn(
            "auth",
            emulators.auth_emulator_command(self.root, self.state_dir, ports["auth"], project),
            {**os.environ, "CI": "1"},
            cwd=self.state_dir,
        )
        commands = emulators.google_emulator_commands(ports["firestore"], ports["pubsub"], rules)
        signing_key = emulators.write_signing_key(self.state_dir / "signing-key.pem")
        principals = {
            key: (self._storage_ports[key], function.storage)
            for key, function in self.pipeline.functions.items()
        }
        commands["storage"] = emulators.storage_emulator_command(
            ports["storage"], BUCKET, signing_key, principals
        )
        for name, command in commands.items():
            self.group.spawn(name, command, os.environ)
        self.env.update(
            GOOGLE_CLOUD_PROJECT=project,
            FIRESTORE_EMULATOR_HOST=f"{HOST}:{ports['firestore']}",
            PUBSUB_EMULATOR_HOST=f"{HOST}:{ports['pubsub']}",
            STORAGE_EMULATOR_HOST=f"http://{HOST}:{ports['storage']}",
            FIREBASE_AUTH_EMULATOR_HOST=f"{HOST}:{ports['auth']}",
            PANELFLOW_BUCKET=BUCKET,
            # Signs the API's asset links; the Storage emulator checks them with it.
            PANELFLOW_SIGNING_KEY_FILE=str(signing_key),
        )
        for topic, variable in TOPIC_VARIABLES.items():
            self.env[variable] = self.pipeline.topic_name(topic)
        self.group.wait_http("firestore", f"http://{HOST}:{ports['firestore']}/")
        self.group.wait_http("pubsub", f"http://{HOST}:{ports['pubsub']}/")
        self.group.wait_http("storage", f"http://{HOST}:{ports['storage']}/storage/v1/b")
        self._create_topics()
        self.group.wait_http("auth", f"http://{HOST}:{ports['auth']}/", timeout=120.0)

    def _create_topics(self) -> None:
        """Topics and subscriptions as functions/pipeline.yaml declares them."""
        from google.cloud import pubsub_v1

        os.environ["PUBSUB_EMULATOR_HOST"] = self.env["PUBSUB_EMULATOR_HOST"]
        try:
            publisher = pubsub_v1.PublisherClient()
            subscriber = pubsub_v1.SubscriberClient()
        finally:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        project = self.options.project_id
        for topic in self.pipeline.topics.values():
            publisher.create_topic(name=publisher.topic_path(project, topic.name))
        for function in self.pipeline.subscribers():
            request: dict[str, object] = {
                "name": subscriber.subscription_path(
                    project, self.pipeline.subscription_name(function)
                ),
                "topic": publisher.topic_path(project, self.pipeline.topic_name(function.topic)),
                # Matches the function timeout, so a slow handler is not redelivered mid-run.
                "ack_deadline_seconds": function.ack_deadline_seconds,
            }
            if function.dead_letter:
                dead_letter = self.pipeline.topic_name(function.dead_letter)
                request["dead_letter_policy"] = {
                    "dead_letter_topic": publisher.topic_path(project, dead_letter),
                    "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
                }
            subscriber.create_subscription(request=request)
        subscriber.close()

    # ---- IAM, functions and relay -----------------------------------------------------------

    def _start_gateway(self) -> None:
        """Pub/Sub as each function's service account sees it (panelflow_cli.iam_gateway)."""
        config = {
            "upstream": self.env["PUBSUB_EMULATOR_HOST"],
            "project": self.options.project_id,
            "host": HOST,
            "principals": [
                {
                    "name": key,
                    "port": self._pubsub_ports[key],
                    "topics": [self.pipeline.topic_name(topic) for topic in function.publishes],
                }
                for key, function in self.pipeline.functions.items()
            ],
        }
        path = self.state_dir / "iam-gateway.json"
        path.write_text(json.dumps(config, indent=2))
        ready = self.state_dir / "iam-gateway.ready"
        ready.unlink(missing_ok=True)
        command = [sys.executable, "-m", "panelflow_cli.iam_gateway", str(path)]
        self.group.spawn("iam-gateway", [*command, "--ready", str(ready)], os.environ)
        self.group.wait_file("iam-gateway", ready)

    def _start_functions(self) -> None:
        staged = staging.stage(self.root, self.state_dir / "build")
        # Compiled once here (0.6 s for the three bundles), as pip compiles what it
        # installs: the seven function processes then load bytecode instead of each
        # compiling the modules it imports while the others do the same.
        for directory in staged.values():
            compileall.compile_dir(directory, quiet=1)
        bundles = {function.bundle for function in self.pipeline.functions.values()}
        environments_log = self.log_dir / "environments.log"
        try:
            built = {
                bundle: environments.ensure(bundle, self.root, log=environments_log)
                for bundle in sorted(bundles)
            }
        except environments.BuildError as error:
            raise StackError(f"a function environment could not be built: {error}") from error
        ports = {}
        for key, function in self.pipeline.functions.items():
            ports[key] = free_port()
            source = staged[function.bundle]
            # functions-framework behind the local guard (Host, and the relay's secret).
            python = environments.functions_framework(built[function.bundle]).with_name("python")
            command = [
                str(python),
                str(Path(function_guard.__file__)),
                f"--target={function.entry_point}",
                f"--source={source / 'main.py'}",
                f"--signature-type={function.signature}",
                f"--host={HOST}",
                f"--port={ports[key]}",
            ]
            env = self.function_env(key)
            if function.http != "public":
                # Only the relay (Eventarc, Cloud Scheduler in production) may call it.
                env[function_guard.SECRET_VARIABLE] = self._caller_secret
            # The staged copy of the core, so what runs is what would deploy.
            env["PYTHONPATH"] = str(source)
            self.group.spawn(key, command, env, cwd=source)
        self._function_urls = {key: f"http://{HOST}:{port}/" for key, port in ports.items()}
        api = next(key for key, f in self.pipeline.functions.items() if f.http == "public")
        self.env["PANELFLOW_API_URL"] = self._function_urls[api].rstrip("/")
        self.group.wait_http(api, f"{self.env['PANELFLOW_API_URL']}/healthz", ok_only=True)
        for key in self.pipeline.functions:
            if key != api:
                self.group.wait_http(key, self._function_urls[key], any_status=True)

    def _web_origins(self) -> str:
        """The web client's origins; its port is chosen before the functions start (CORS)."""
        if "PANELFLOW_WEB_URL" not in self.env:
            self.env["PANELFLOW_WEB_URL"] = f"http://{HOST}:{free_port()}"
        url = self.env["PANELFLOW_WEB_URL"]
        return f"{url},{url.replace(HOST, 'localhost')}"

    def _start_web(self) -> None:
        self._web_origins()
        url = self.env["PANELFLOW_WEB_URL"]
        env = {**os.environ, **self.env}
        command = [sys.executable, "-m", "panelflow_cli.webserver", f"--root={self.root / 'web'}"]
        command += [f"--host={HOST}", f"--port={url.rsplit(':', 1)[1]}"]
        self.group.spawn("web", command, env)
        self.group.wait_http("web", f"{url}/config.json")

    def _relay_routes(self) -> list[dict[str, object]]:
        concurrency = {
            "plan": self.options.plan_concurrency,
            "worker": self.options.panel_concurrency,
        }
        routes: list[dict[str, object]] = []
        for function in self.pipeline.subscribers():
            routes.append(
                {
                    "subscription": self.pipeline.subscription_name(function),
                    "topic": self.pipeline.topic_name(function.topic),
                    "url": self._function_urls[function.key],
                    "concurrency": concurrency.get(function.key, function.local_concurrency),
                    # Drills duplicate work and notify messages; dead letters arrive once.
                    "duplicate": self.options.duplicate_deliveries
                    and function.topic not in self.pipeline.dead_letter_topics(),
                }
            )
        return routes

    def _start_relay(self) -> None:
        config = {
            "project": self.options.project_id,
            # Sent with every delivery and scheduled call (function_guard checks it).
            "caller_secret": self._caller_secret,
            "timeout": self.options.delivery_timeout_s,
            "backoff": list(self.options.retry_backoff),
            "schedule": [
                {"url": self._function_urls[key], "every": self.options.sweep_interval_s}
                for key, function in self.pipeline.functions.items()
                if function.schedule
            ],
            "routes": self._relay_routes(),
        }
        config_path = self.state_dir / "relay.json"
        config_path.touch(mode=0o600)
        config_path.chmod(0o600)
        config_path.write_text(json.dumps(config, indent=2))
        ready = self.state_dir / "relay.ready"
        ready.unlink(missing_ok=True)
        command = [sys.executable, "-m", "panelflow_cli.relay", str(config_path)]
        self.group.spawn("relay", [*command, "--ready", str(ready)], {**os.environ, **self.env})
        self.group.wait_file("relay", ready)

    # ---- state --------------------------------------------------------------------------

    def _write_state(self) -> None:
        state = {"pids": self.group.pids(), "env": self.env, "started": time.time()}
        (self.state_dir / "stack.json").write_text(json.dumps(state, indent=2))
        write_env_file(self.state_dir / "local.env", self.env)


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    lines = [f"{key}={shlex.quote(value)}" for key, value in sorted(env.items())]
    path.write_text("\n".join(lines) + "\n")


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            parsed = shlex.split(value)
            env[key.strip()] = parsed[0] if parsed else ""
    return env


def read_state(state_dir: Path) -> dict[str, object] | None:
    """The recorded stack, or None when there is none or all of its processes are gone."""
    path = state_dir / "stack.json"
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    pids = state.get("pids", {})
    if not any(alive(pid) for pid in pids.values()):
        path.unlink(missing_ok=True)
        (state_dir / "local.env").unlink(missing_ok=True)
        return None
    return dict(state)


def stop_recorded(state_dir: Path) -> bool:
    """Stops the stack recorded in ``state_dir``; returns False when none was running."""
    path = state_dir / "stack.json"
    if not path.exists():
        return False
    state = json.loads(path.read_text())
    stop_processes(state.get("pids", {}))
    path.unlink(missing_ok=True)
    (state_dir / "local.env").unlink(missing_ok=True)
    (state_dir / "signing-key.pem").unlink(missing_ok=True)
    return True
