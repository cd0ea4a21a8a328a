"""The pipeline declaration (functions/pipeline.yaml), read once and checked on load.

The local stack builds its topics, subscriptions, relay routes, per-function environments and
enforced permissions from it; Terraform reads the same file with yamldecode.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from panelflow_cli import staging

STORAGE_LEVELS = ("none", "read", "read-write")
SIGNATURES = ("http", "cloudevent")


class DeclarationError(ValueError):
    """functions/pipeline.yaml is inconsistent; the message names the entry."""


@dataclass(frozen=True)
class Topic:
    key: str
    name: str


@dataclass(frozen=True)
class Function:
    key: str
    bundle: str
    entry_point: str
    signature: str
    # Exactly one of: "public" HTTP, a topic key, or a cron schedule.
    http: str = ""
    topic: str = ""
    schedule: str = ""
    dead_letter: str = ""
    ack_deadline_seconds: int = 60
    local_concurrency: int = 4
    publishes: tuple[str, ...] = ()
    storage: str = "none"
    firestore: str = "read-write"
    secrets: tuple[str, ...] = ()
    models: bool = False
    signs_urls: bool = False
    # Firebase Auth users: "none", "read" (look a token's user up) or "read-write".
    users: str = "none"
    # Sends push notifications through FCM (a local fake on the stack).
    messaging: bool = False


@dataclass(frozen=True)
class Pipeline:
    topics: Mapping[str, Topic]
    functions: Mapping[str, Function]
    # Secret id -> the environment variable it reaches a function as.
    secrets: Mapping[str, str]

    def dead_letter_topics(self) -> set[str]:
        """Topic keys some function dead-letters to."""
        return {
            function.dead_letter for function in self.functions.values() if function.dead_letter
        }

    def topic_name(self, key: str) -> str:
        return self.topics[key].name

    def subscribers(self) -> list[Function]:
        """Functions triggered by a topic, in declaration order."""
        return [function for function in self.functions.values() if function.topic]

    def subscription_name(self, function: Function) -> str:
        return f"{self.topic_name(function.topic)}-sub"


def declaration_path(root: Path | None = None) -> Path:
    return (root or staging.repo_root()) / "functions" / "pipeline.yaml"


@functools.cache
def load(path: Path | None = None) -> Pipeline:
    """Reads and checks the declaration; raises DeclarationError naming the bad entry."""
    raw = yaml.safe_load((path or declaration_path()).read_text())
    topics = {key: Topic(key, str(value["name"])) for key, value in raw["topics"].items()}
    functions = {key: _function(key, value, topics) for key, value in raw["functions"].items()}
    secrets = {key: str(value["env"]) for key, value in (raw.get("secrets") or {}).items()}
    for function in functions.values():
        unknown = [secret for secret in function.secrets if secret not in secrets]
        if unknown:
            raise DeclarationError(f"{function.key}: unknown secrets {', '.join(unknown)}")
    return Pipeline(topics=topics, functions=functions, secrets=secrets)


def _function(key: str, raw: Mapping[str, Any], topics: Mapping[str, Topic]) -> Function:
    trigger = raw.get("trigger") or {}
    permissions = raw.get("permissions") or {}
    kinds = [kind for kind in ("http", "topic", "schedule") if kind in trigger]
    if len(kinds) != 1:
        raise DeclarationError(f"{key}: the trigger needs exactly one of http, topic, schedule")
    function = Function(
        key=key,
        bundle=str(raw["bundle"]),
        entry_point=str(raw["entry_point"]),
        signature=str(raw["signature"]),
        http=str(trigger.get("http", "")),
        topic=str(trigger.get("topic", "")),
        schedule=str(trigger.get("schedule", "")),
        dead_letter=str(trigger.get("dead_letter", "")),
        ack_deadline_seconds=int(trigger.get("ack_deadline_seconds", 60)),
        local_concurrency=int(trigger.get("local_concurrency", 4)),
        publishes=tuple(permissions.get("publishes") or ()),
        storage=str(permissions.get("storage", "none")),
        firestore=str(permissions.get("firestore", "read-write")),
        secrets=tuple(permissions.get("secrets") or ()),
        models=bool(permissions.get("models", False)),
        signs_urls=bool(permissions.get("signs_urls", False)),
        users=str(permissions.get("users", "none")),
        messaging=bool(permissions.get("messaging", False)),
    )
    unknown = [
        topic
        for topic in (*function.publishes, function.topic, function.dead_letter)
        if topic and topic not in topics
    ]
    if unknown:
        raise DeclarationError(f"{key}: unknown topics {', '.join(unknown)}")
    if function.users not in STORAGE_LEVELS:
        raise DeclarationError(f"{key}: users must be one of {', '.join(STORAGE_LEVELS)}")
    if function.storage not in STORAGE_LEVELS:
        raise DeclarationError(f"{key}: storage must be one of {', '.join(STORAGE_LEVELS)}")
    if function.signature not in SIGNATURES:
        raise DeclarationError(f"{key}: signature must be one of {', '.join(SIGNATURES)}")
    if function.topic and function.signature != "cloudevent":
        raise DeclarationError(f"{key}: a topic trigger needs the cloudevent signature")
    return function
