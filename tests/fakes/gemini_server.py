"""A local fake of the Gemini REST API: ``POST /{version}/models/{model}:generateContent``
and ``GET /{version}/models/{model}`` (models.get).

It runs on 127.0.0.1 in a background thread, records every request body, and answers from a
script of replies (in order) or, with the script empty, with a default: a PNG for requests
that ask for images, the comic's words marked with the language (``[fr] ...``) for
translation requests, ``plan`` (JSON text) for other structured-output requests, else plain
text.
Defaults carry ``usageMetadata`` (token counts) like the service's replies.
The real google-genai client talks to it through ``HttpOptions(base_url=fake.base_url)``.

Like the service, it answers 404 NOT_FOUND for a model it does not serve (``models``: the
current ones of ``panelflow.domain.provider_models``; retired ids are not served) and 400
INVALID_ARGUMENT for a turn with an empty text part or no parts. Helpers build the
service's other known replies: empty STOP replies, thinking image replies with ``thought``
drafts, and 429 RESOURCE_EXHAUSTED with ``google.rpc.QuotaFailure`` / ``RetryInfo``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATH = re.compile(r"^/(?P<version>v1[a-z0-9]*)/models/(?P<model>[^/:]+):generateContent$")
RAW = "__raw_body__"
_MODEL_PATH = re.compile(r"^/(?P<version>v1[a-z0-9]*)/models/(?P<model>[^/:]+)$")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    # Seconds to wait before answering (longer than the client's timeout to provoke one).
    delay: float = 0.0


@dataclass
class RecordedRequest:
    path: str
    version: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 0
    image: bytes | None = None

    @property
    def parts(self) -> list[dict[str, Any]]:
        """Every part of every content turn, in order."""
        return [part for content in self.body.get("contents", []) for part in content["parts"]]

    @property
    def texts(self) -> list[str]:
        return [part["text"] for part in self.parts if "text" in part]

    @property
    def prompt(self) -> str:
        return "\n".join(self.texts)

    @property
    def inline_images(self) -> list[bytes]:
        """Decoded inlineData parts (reference images sent with the request)."""
        return [
            _b64decode(part["inlineData"]["data"]) for part in self.parts if "inlineData" in part
        ]

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.body.get("generationConfig") or {})

    @property
    def wants_image(self) -> bool:
        return "IMAGE" in (self.config.get("responseModalities") or [])


def _b64decode(text: str) -> bytes:
    # google-genai sends URL-safe base64 (the JSON mapping of protobuf bytes accepts both).
    return base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_"))


def make_png(width: int = 768, height: int = 512, seed: str = "") -> bytes:
    """A small real PNG whose colours depend on ``seed``."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(seed.encode()).digest()
    image = Image.new("RGB", (width, height), tuple(digest[:3]))
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 4, height // 4, width // 2, height // 2), fill=tuple(digest[3:6]))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def usage(prompt_tokens: int, output_tokens: int, thoughts: int = 0) -> dict[str, int]:
    return {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": output_tokens,
        "thoughtsTokenCount": thoughts,
        "totalTokenCount": prompt_tokens + output_tokens + thoughts,
    }


def text_reply(text: str, finish_reason: str = "STOP", tokens: int | None = None) -> Reply:
    return Reply(
        body={
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": finish_reason,
                    "index": 0,
                }
            ],
            "usageMetadata": usage(100, len(text) // 4 if tokens is None else tokens, 50),
            "modelVersion": "fake",
        }
    )


def empty_reply(finish_reason: str = "STOP") -> Reply:
    """What the service sometimes sends: a finished candidate with no text at all."""
    return Reply(
        body={
            "candidates": [
                {"content": {"role": "model"}, "finishReason": finish_reason, "index": 0}
            ],
            "usageMetadata": usage(100, 0, 30),
        }
    )


def plan_reply(plan: dict[str, Any] | str) -> Reply:
    return text_reply(plan if isinstance(plan, str) else json.dumps(plan))


def image_reply(data: bytes, mime_type: str = "image/png") -> Reply:
    encoded = base64.b64encode(data).decode()
    return Reply(
        body={
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"inlineData": {"mimeType": mime_type, "data": encoded}}],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ]
        }
    )


def thinking_image_reply(drafts: list[bytes], final: bytes) -> Reply:
    """A thinking image model's reply: draft images marked ``thought`` before the final one."""

    def part(data: bytes, thought: bool) -> dict[str, Any]:
        encoded = base64.b64encode(data).decode()
        inline = {"inlineData": {"mimeType": "image/png", "data": encoded}}
        return {**inline, "thought": True} if thought else inline

    parts = [{"text": "Sketching the layout first.", "thought": True}]
    parts += [part(draft, True) for draft in drafts] + [part(final, False)]
    return Reply(
        body={
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": usage(300, 1290, 200),
        }
    )


def quota_reply(
    quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel",
    quota_value: str | None = "10",
    retry_delay: str | None = None,
) -> Reply:
    """429 RESOURCE_EXHAUSTED with a google.rpc.QuotaFailure (and RetryInfo if a delay)."""
    violation: dict[str, Any] = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
        "quotaId": quota_id,
        "quotaDimensions": {"location": "global", "model": "fake"},
    }
    if quota_value is not None:
        violation["quotaValue"] = quota_value
    details: list[dict[str, Any]] = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}
    ]
    if retry_delay is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        )
    return Reply(
        status=429,
        body={
            "error": {
                "code": 429,
                "message": "You exceeded your current quota, please check your plan and billing.",
                "status": "RESOURCE_EXHAUSTED",
                "details": details,
            }
        },
    )


def finish_reply(finish_reason: str, text: str = "") -> Reply:
    """A candidate with no image (e.g. IMAGE_SAFETY, NO_IMAGE); ``text`` if the model talked."""
    candidate: dict[str, Any] = {"finishReason": finish_reason, "index": 0}
    if text:
        candidate["content"] = {"role": "model", "parts": [{"text": text}]}
    return Reply(body={"candidates": [candidate]})


def blocked_prompt_reply(reason: str = "SAFETY") -> Reply:
    return Reply(body={"promptFeedback": {"blockReason": reason}})


def error_reply(status: int, message: str = "", delay: float = 0.0) -> Reply:
    name = _STATUS_NAMES.get(status, "UNKNOWN")
    return Reply(
        status=status,
        body={"error": {"code": status, "message": message or f"fake {name}", "status": name}},
        delay=delay,
    )


def raw_reply(text: str, status: int = 200) -> Reply:
    """A body that is not JSON (a proxy's error page, a cut-off reply)."""
    return Reply(status=status, body={RAW: text})


def slow(reply: Reply, delay: float) -> Reply:
    return Reply(status=reply.status, body=reply.body, delay=delay)


class FakeGemini:
    """The fake server; use as a context manager or call start() and stop()."""

    def __init__(self, models: set[str] | None = None) -> None:
        from panelflow.domain.provider_models import MODELS

        self.requests: list[RecordedRequest] = []
        self.plan: dict[str, Any] | None = None
        # The models this fake serves; any other id answers 404 like a retired one.
        self.models: set[str] = set(MODELS) if models is None else set(models)
        # When set, only these API keys are accepted (others: 400 API_KEY_INVALID, as sent).
        self.api_keys: set[str] | None = None
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- control --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def script(self, *replies: Reply) -> None:
        """Queues replies; each request takes the next one, then defaults resume."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.plan = None

    def served_images(self) -> list[bytes]:
        with self._lock:
            return [r.image for r in self.requests if r.image is not None]

    def start(self) -> FakeGemini:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes: without this a kept connection waits for
            # the client's delayed ACK (40 ms) before the body.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._get_model(self)

            def log_message(self, *_args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ---- serving --------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        match = _PATH.match(handler.path.split("?", 1)[0])
        if not match:
            self._send(handler, error_reply(404, f"no such method: {handler.path}"))
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(handler, error_reply(400, "Invalid JSON payload received."))
            return
        recorded = RecordedRequest(
            path=handler.path,
            version=match["version"],
            model=match["model"],
            headers={key.lower(): value for key, value in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(recorded)
            reply = self._refusal(recorded) or (
                self._script.popleft() if self._script else self._default(recorded)
            )
            recorded.status = reply.status
            recorded.image = _served_image(reply)
        if reply.delay:
            time.sleep(reply.delay)
        self._send(handler, reply)

    def _refusal(self, request: RecordedRequest) -> Reply | None:
        """What the service refuses before generating anything."""
        refused = self._key_refused(request.headers)
        if refused is not None:
            return refused
        if request.model not in self.models:
            return error_reply(
                404,
                f"models/{request.model} is not found for API version {request.version}, or "
                "is not supported for generateContent.",
            )
        for content in request.body.get("contents", []):
            parts = content.get("parts") or []
            if not parts or any(part.get("text") == "" for part in parts if "text" in part):
                return error_reply(
                    400, "Unable to submit request because it has an empty text parameter."
                )
        return None

    def _key_refused(self, headers: dict[str, str]) -> Reply | None:
        if self.api_keys is None or headers.get("x-goog-api-key") in self.api_keys:
            return None
        return error_reply(400, "API key not valid. Please pass a valid API key.")

    def _get_model(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {key.lower(): value for key, value in handler.headers.items()}
        refused = self._key_refused(headers)
        if refused is not None:
            self._send(handler, refused)
            return
        match = _MODEL_PATH.match(handler.path.split("?", 1)[0])
        if not match or match["model"] not in self.models:
            name = match["model"] if match else handler.path
            self._send(handler, error_reply(404, f"models/{name} is not found"))
            return
        model = match["model"]
        image = "image" in model
        self._send(
            handler,
            Reply(
                body={
                    "name": f"models/{model}",
                    "displayName": model,
                    "inputTokenLimit": 65_536 if image else 1_048_576,
                    "outputTokenLimit": 32_768 if image else 65_536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                    "thinking": True,
                }
            ),
        )

    def _default(self, request: RecordedRequest) -> Reply:
        if request.wants_image:
            reply = image_reply(make_png(seed=request.prompt))
            prompt_tokens = len(json.dumps(request.body)) // 4
            return Reply(body={**reply.body, "usageMetadata": usage(prompt_tokens, 1290)})
        translated = _translation(request)
        if translated is not None:
            return plan_reply(translated)
        if request.config.get("responseSchema") or request.config.get("responseJsonSchema"):
            text = json.dumps(self.plan or {"title": "", "characters": [], "panels": []})
            # Like the service: a reply longer than maxOutputTokens is cut off there.
            limit = int(request.config.get("maxOutputTokens") or 0)
            if limit and len(text) // 4 > limit:
                return text_reply(text[: limit * 4], "MAX_TOKENS", tokens=limit)
            return plan_reply(text)
        return text_reply("ok")

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        raw = RAW in reply.body
        data = str(reply.body[RAW]).encode() if raw else json.dumps(reply.body).encode()
        try:
            handler.send_response(reply.status)
            kind = "text/html" if raw else "application/json"
            handler.send_header("Content-Type", f"{kind}; charset=UTF-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


_TRANSLATE = re.compile(
    r"You translate the words of a comic from .+? into .+? \((?P<code>[a-z]+)\)"
)
_FENCED = re.compile(r"<<<\n(?P<body>.*)\n>>>", re.DOTALL)


def _translation(request: RecordedRequest) -> dict[str, Any] | None:
    """For a translation request (by its system instruction): the comic it sent, every text
    marked with the target language (``[fr] ...``), panels and speakers kept."""
    instruction = " ".join(
        part.get("text", "")
        for part in (request.body.get("systemInstruction") or {}).get("parts") or []
    )
    wanted = _TRANSLATE.search(instruction)
    fenced = _FENCED.search(request.texts[0]) if request.texts else None
    if wanted is None or fenced is None:
        return None
    comic = json.loads(fenced["body"])
    code = wanted["code"]

    def marked(text: str) -> str:
        return f"[{code}] {text}" if text else ""

    return {
        "title": marked(comic["title"]),
        "panels": [
            {
                "caption": marked(panel["caption"]),
                "narration": marked(panel["narration"]),
                "dialogue": [
                    {"speaker": line["speaker"], "text": marked(line["text"])}
                    for line in panel["dialogue"]
                ],
            }
            for panel in comic["panels"]
        ],
    }


def _served_image(reply: Reply) -> bytes | None:
    """The final image of a reply (drafts marked ``thought`` are not the answer)."""
    final = None
    for candidate in reply.body.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            if "inlineData" in part and not part.get("thought"):
                final = base64.b64decode(part["inlineData"]["data"])
    return final
