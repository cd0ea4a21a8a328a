"""Commands for the emulators of the local stack: Firestore, Pub/Sub, Auth and Storage."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from panelflow_cli.processes import HOST, StackError, free_port

# The emulators' JVMs run with the client compiler only (C1). With the default tiered
# compilation, the server compiler (C2) kept recompiling the emulators' hot paths for
# minutes of a run, taking about a quarter of a core from everything else on a two-core
# machine; C1 compiles once, early. Measured on the benchmark's stack (ten watched
# 12-panel jobs): a job 3.34-3.39 -> 3.27 s, panel 1 seen 3.20 -> 3.14 s (docs/performance.md).
EMULATOR_JVM_FLAGS = ("-XX:TieredStopAtLevel=1",)


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


def google_emulator_commands(
    firestore_port: int, pubsub_port: int, rules: Path
) -> dict[str, list[str]]:
    """Commands for the real Firestore and Pub/Sub emulators, from their jars (~1 s each)."""
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
            *EMULATOR_JVM_FLAGS,
            "-cp",
            str(firestore_jar),
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
            "start",
            f"--host={HOST}",
            f"--port={firestore_port}",
            f"--rules={rules}",
        ],
        "pubsub": [
            java,
            *EMULATOR_JVM_FLAGS,
            "-jar",
            str(pubsub_jars[-1]),
            f"--host={HOST}",
            f"--port={pubsub_port}",
        ],
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


def storage_emulator_command(
    port: int, bucket: str, signing_key: Path, principals: dict[str, tuple[int, str]]
) -> list[str]:
    """Our Storage emulator: an open port, plus one port per function with its declared access."""
    command = [
        sys.executable,
        "-m",
        "panelflow_cli.storage_emulator",
        f"--host={HOST}",
        f"--port={port}",
        f"--default-bucket={bucket}",
        f"--signing-key-file={signing_key}",
    ]
    for name, (principal_port, access) in principals.items():
        command.append(f"--principal={name}={principal_port}:{access}")
    return command


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
