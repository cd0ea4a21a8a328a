"""The local stack: real Firestore and Pub/Sub emulators, a Storage emulator, the functions
under functions-framework (run from their staged build/ directories) and a delivery relay.

Everything binds to 127.0.0.1 on free ports. State lives in a folder (default
``.panelflow/``): ``stack.json`` (processes), ``local.env`` (what clients need), ``logs/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from panelflow_cli import staging

HOST = "127.0.0.1"
DEFAULT_PROJECT = "demo-panelflow"
PLAN_TOPIC = "panelflow-plan"
PANELS_TOPIC = "panelflow-panels"
DEAD_LETTER_TOPIC = "panelflow-dead-letter"
BUCKET = "panelflow-assets"
# Delivery attempts before Pub/Sub moves a message to the dead-letter topic (5 is its minimum).
MAX_DELIVERY_ATTEMPTS = 5


class StackError(RuntimeError):
    """The local stack could not be started; the message says what to do."""


@dataclass
class StackOptions:
    state_dir: Path
    project_id: str = DEFAULT_PROJECT
    # Panels rendered at once: relay concurrency and worker threads both follow it.
    panel_concurrency: int = 16
    plan_concurrency: int = 4
    # Seconds a delivery may run before the relay gives up on it (and nacks).
    delivery_timeout_s: float = 300.0
    # Extra environment for the functions (providers, limits, fault injection).
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def sdk_platform_dir() -> Path | None:
    """The gcloud SDK's platform/ folder, where its emulator components live."""
    override = os.environ.get("PANELFLOW_GCLOUD_SDK_ROOT")
    candidates = [Path(override)] if override else []
    gcloud = shutil.which("gcloud")
    if gcloud:
        candidates.append(Path(gcloud).resolve().parents[1])
    for root in candidates:
        if (root / "platform").is_dir():
            return root / "platform"
    return None


def emulator_commands(firestore_port: int, pubsub_port: int, rules: Path) -> dict[str, list[str]]:
    """Commands for the real emulators, launched straight from their jars (~1 s each)."""
    platform = sdk_platform_dir()
    java = shutil.which("java")
    if platform is None or java is None:
        raise StackError(
            "the Firestore and Pub/Sub emulators were not found. Install the Google Cloud CLI "
            "with the 'cloud-firestore-emulator' and 'pubsub-emulator' components and Java 17+ "
            "(or set PANELFLOW_GCLOUD_SDK_ROOT); see emulators/README.md"
        )
    firestore_jar = platform / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
    pubsub_jars = sorted((platform / "pubsub-emulator" / "lib").glob("cloud-pubsub-emulator-*.jar"))
    if not firestore_jar.is_file() or not pubsub_jars:
        raise StackError(
            f"emulator jars missing under {platform}: run 'gcloud components install "
            "cloud-firestore-emulator pubsub-emulator'; see emulators/README.md"
        )
    return {
        "firestore": [
            java,
            "-cp",
            str(firestore_jar),
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
            "start",
            f"--host={HOST}",
            f"--port={firestore_port}",
            f"--rules={rules}",
        ],
        "pubsub": [java, "-jar", str(pubsub_jars[-1]), f"--host={HOST}", f"--port={pubsub_port}"],
    }


def auth_emulator_command(root: Path, state_dir: Path, port: int, project_id: str) -> list[str]:
    """The Firebase Auth emulator from firebase-tools (pinned in emulators/package.json).

    Its config is written per stack so that every port, the hub's and the logger's included,
    is free: several stacks (tests, a demo) can run side by side.
    """
    firebase = os.environ.get("PANELFLOW_FIREBASE_BIN") or str(
        root / "emulators" / "node_modules" / ".bin" / "firebase"
    )
    if not Path(firebase).exists() and not shutil.which(firebase):
        raise StackError(
            "firebase-tools was not found for the Auth emulator: run 'make test' or "
            "'scripts/bootstrap.sh' (npm ci in emulators/), or set PANELFLOW_FIREBASE_BIN"
        )
    if shutil.which("java") is None:
        raise StackError("the Auth emulator needs Java 17+; see emulators/README.md")
    config = {
        "emulators": {
            "auth": {"host": HOST, "port": port},
            "hub": {"host": HOST, "port": free_port()},
            "logging": {"host": HOST, "port": free_port()},
            "ui": {"enabled": False},
            "singleProjectMode": True,
        }
    }
    config_path = state_dir / "firebase.json"
    config_path.write_text(json.dumps(config, indent=2))
    return [
        firebase,
        "emulators:start",
        "--only=auth",
        f"--project={project_id}",
        f"--config={config_path}",
    ]


class LocalStack:
    """Starts and stops the local stack; one instance per state folder."""

    def __init__(self, options: StackOptions, root: Path | None = None) -> None:
        self.options = options
        self.root = root or staging.repo_root()
        self.state_dir = options.state_dir.resolve()
        self.log_dir = self.state_dir / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env: dict[str, str] = {}

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
        stop_processes({name: proc.pid for name, proc in self.processes.items()})
        self.processes.clear()
        for name in ("stack.json", "local.env", "signing-key.pem"):
            (self.state_dir / name).unlink(missing_ok=True)

    def logs(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ---- emulators ----------------------------------------------------------------------

    def _start_emulators(self) -> None:
        ports = {name: free_port() for name in ("firestore", "pubsub", "storage", "auth")}
        rules = self.root / "emulators" / "firestore.rules"
        # The Auth emulator is the slowest to start (~6 s): spawned first, waited for last.
        self._spawn(
            "auth",
            auth_emulator_command(
                self.root, self.state_dir, ports["auth"], self.options.project_id
            ),
            {**os.environ, "CI": "1"},
            cwd=self.state_dir,
        )
        commands = emulator_commands(ports["firestore"], ports["pubsub"], rules)
        signing_key = write_signing_key(self.state_dir / "signing-key.pem")
        commands["storage"] = [
            sys.executable,
            "-m",
            "panelflow_cli.storage_emulator",
            f"--host={HOST}",
            f"--port={ports['storage']}",
            f"--default-bucket={BUCKET}",
            f"--signing-key-file={signing_key}",
        ]
        for name, command in commands.items():
            self._spawn(name, command, os.environ.copy())
        self.env.update(
            GOOGLE_CLOUD_PROJECT=self.options.project_id,
            FIRESTORE_EMULATOR_HOST=f"{HOST}:{ports['firestore']}",
            PUBSUB_EMULATOR_HOST=f"{HOST}:{ports['pubsub']}",
            STORAGE_EMULATOR_HOST=f"http://{HOST}:{ports['storage']}",
            FIREBASE_AUTH_EMULATOR_HOST=f"{HOST}:{ports['auth']}",
            PANELFLOW_BUCKET=BUCKET,
            PANELFLOW_PLAN_TOPIC=PLAN_TOPIC,
            PANELFLOW_PANELS_TOPIC=PANELS_TOPIC,
            PANELFLOW_DEAD_LETTER_TOPIC=DEAD_LETTER_TOPIC,
            # Signs the API's asset links; the Storage emulator checks them with it.
            PANELFLOW_SIGNING_KEY_FILE=str(signing_key),
        )
        self._wait_http("firestore", f"http://{HOST}:{ports['firestore']}/")
        self._wait_http("pubsub", f"http://{HOST}:{ports['pubsub']}/")
        self._wait_http("storage", f"http://{HOST}:{ports['storage']}/storage/v1/b")
        self._create_topics()
        self._wait_http("auth", f"http://{HOST}:{ports['auth']}/", timeout=120.0)

    def _create_topics(self) -> None:
        from google.cloud import pubsub_v1

        os.environ["PUBSUB_EMULATOR_HOST"] = self.env["PUBSUB_EMULATOR_HOST"]
        try:
            publisher = pubsub_v1.PublisherClient()
            subscriber = pubsub_v1.SubscriberClient()
        finally:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        project = self.options.project_id
        for topic in (PLAN_TOPIC, PANELS_TOPIC, DEAD_LETTER_TOPIC):
            publisher.create_topic(name=publisher.topic_path(project, topic))
        dead_letter = publisher.topic_path(project, DEAD_LETTER_TOPIC)
        for subscription, topic, dead_letters in (
            (f"{PLAN_TOPIC}-sub", PLAN_TOPIC, True),
            (f"{PANELS_TOPIC}-sub", PANELS_TOPIC, True),
            (f"{DEAD_LETTER_TOPIC}-sub", DEAD_LETTER_TOPIC, False),
        ):
            request: dict[str, object] = {
                "name": subscriber.subscription_path(project, subscription),
                "topic": publisher.topic_path(project, topic),
                # Matches the function timeout, so a slow handler is not redelivered mid-run.
                "ack_deadline_seconds": 60,
            }
            if dead_letters:
                request["dead_letter_policy"] = {
                    "dead_letter_topic": dead_letter,
                    "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
                }
            subscriber.create_subscription(request=request)
        subscriber.close()

    # ---- functions and relay -------------------------------------------------------------

    def _function_env(self, source: Path) -> dict[str, str]:
        env = os.environ.copy()
        env.update(self.env)
        env.update(
            {
                # The staged copy of the core comes first, so what runs is what would deploy.
                "PYTHONPATH": str(source),
                "PYTHONUNBUFFERED": "1",
                "PANELFLOW_ENV": "local",
                "PANELFLOW_LEASE_SECONDS": str(self.options.lease_seconds),
                "THREADS": str(max(self.options.panel_concurrency, 8)),
                "WORKERS": "1",
            }
        )
        if self.options.web:
            env["PANELFLOW_CORS_ORIGINS"] = self._web_origins()
        env.update(self.options.function_env)
        return env

    def _start_functions(self) -> None:
        staged = staging.stage(self.root, self.state_dir / "build")
        framework = Path(sys.executable).with_name("functions-framework")
        targets = {
            "api": ("orchestrator", "api", "http"),
            "plan": ("orchestrator", "plan", "cloudevent"),
            "worker": ("panel_worker", "render_panel", "cloudevent"),
            "dead-letter": ("panel_worker", "dead_letter", "cloudevent"),
            "sweeper": ("panel_worker", "sweep", "http"),
        }
        ports = {}
        for name, (function, target, signature) in targets.items():
            ports[name] = free_port()
            source = staged[function]
            command = [
                str(framework) if framework.exists() else "functions-framework",
                f"--target={target}",
                f"--source={source / 'main.py'}",
                f"--signature-type={signature}",
                f"--host={HOST}",
                f"--port={ports[name]}",
            ]
            self._spawn(name, command, self._function_env(source), cwd=source)
        self.env["PANELFLOW_API_URL"] = f"http://{HOST}:{ports['api']}"
        self._function_urls = {name: f"http://{HOST}:{port}/" for name, port in ports.items()}
        self._wait_http("api", f"{self.env['PANELFLOW_API_URL']}/healthz")
        for name in ("plan", "worker", "dead-letter", "sweeper"):
            self._wait_http(name, self._function_urls[name], any_status=True)

    def _web_origins(self) -> str:
        """The web client's origins; its port is chosen before the functions start (CORS)."""
        if "PANELFLOW_WEB_URL" not in self.env:
            self.env["PANELFLOW_WEB_URL"] = f"http://{HOST}:{free_port()}"
        url = self.env["PANELFLOW_WEB_URL"]
        return f"{url},{url.replace(HOST, 'localhost')}"

    def _start_web(self) -> None:
        self._web_origins()
        url = self.env["PANELFLOW_WEB_URL"]
        env = os.environ.copy()
        env.update(self.env)
        command = [sys.executable, "-m", "panelflow_cli.webserver", f"--root={self.root / 'web'}"]
        command += [f"--host={HOST}", f"--port={url.rsplit(':', 1)[1]}"]
        self._spawn("web", command, env)
        self._wait_http("web", f"{url}/config.json")

    def _start_relay(self) -> None:
        project = self.options.project_id
        config = {
            "project": project,
            "timeout": self.options.delivery_timeout_s,
            "backoff": list(self.options.retry_backoff),
            "schedule": [
                {"url": self._function_urls["sweeper"], "every": self.options.sweep_interval_s}
            ],
            "routes": [
                {
                    "subscription": f"{PLAN_TOPIC}-sub",
                    "topic": PLAN_TOPIC,
                    "url": self._function_urls["plan"],
                    "concurrency": self.options.plan_concurrency,
                    "duplicate": self.options.duplicate_deliveries,
                },
                {
                    "subscription": f"{PANELS_TOPIC}-sub",
                    "topic": PANELS_TOPIC,
                    "url": self._function_urls["worker"],
                    "concurrency": self.options.panel_concurrency,
                    "duplicate": self.options.duplicate_deliveries,
                },
                {
                    "subscription": f"{DEAD_LETTER_TOPIC}-sub",
                    "topic": DEAD_LETTER_TOPIC,
                    "url": self._function_urls["dead-letter"],
                    "concurrency": 4,
                },
            ],
        }
        config_path = self.state_dir / "relay.json"
        config_path.write_text(json.dumps(config, indent=2))
        env = os.environ.copy()
        env.update(self.env)
        ready = self.state_dir / "relay.ready"
        ready.unlink(missing_ok=True)
        self._spawn(
            "relay",
            [sys.executable, "-m", "panelflow_cli.relay", str(config_path), "--ready", str(ready)],
            env,
        )
        deadline = time.monotonic() + 30
        while not ready.exists():
            self._check_alive("relay")
            if time.monotonic() > deadline:
                raise StackError("the delivery relay did not start; see its log")
            time.sleep(0.05)

    # ---- plumbing -----------------------------------------------------------------------

    def _spawn(
        self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        log.write(f"$ {shlex.join(command)}\n".encode())
        log.flush()
        # A session of its own, so stopping kills the whole group (java children included).
        self.processes[name] = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        log.close()

    def _check_alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            tail = "\n".join(self.logs(name).splitlines()[-15:])
            raise StackError(f"{name} exited with code {process.returncode}:\n{tail}")

    def _wait_http(
        self, name: str, url: str, timeout: float = 60.0, any_status: bool = False
    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive(name)
            try:
                response = requests.get(url, timeout=2)
                if any_status or response.status_code < 500:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{name} did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.1)

    def _write_state(self) -> None:
        state = {
            "pids": {name: proc.pid for name, proc in self.processes.items()},
            "env": self.env,
            "started": time.time(),
        }
        (self.state_dir / "stack.json").write_text(json.dumps(state, indent=2))
        write_env_file(self.state_dir / "local.env", self.env)


def write_signing_key(path: Path) -> Path:
    """A throwaway 2048-bit RSA key (PEM, owner-only) for this stack's signed asset links."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(pem)
    return path


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
    if not any(_alive(pid) for pid in pids.values()):
        path.unlink(missing_ok=True)
        (state_dir / "local.env").unlink(missing_ok=True)
        return None
    return dict(state)


def stop_processes(pids: Mapping[str, int], grace: float = 5.0) -> None:
    """SIGTERM each process group, then SIGKILL what is left after ``grace`` seconds."""
    for pid in pids.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids.values()):
        time.sleep(0.05)
    for pid in pids.values():
        _signal_group(pid, signal.SIGKILL)
    for pid in pids.values():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


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


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A zombie child counts as gone.
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True
