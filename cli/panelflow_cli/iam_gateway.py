"""Pub/Sub as each function's service account sees it: IAM for the local stack.

The Pub/Sub emulator lets anyone do anything; in production each function may publish only
to the topics functions/pipeline.yaml declares for it (Terraform grants exactly those). This
gateway gives every function its own gRPC address speaking the Publisher API: a publish to
a declared topic is forwarded to the emulator, anything else is answered the way Pub/Sub
answers a caller without the role — ``PERMISSION_DENIED: User not authorized to perform this
action.`` — so a missing grant fails locally as it fails in the cloud.

Run: ``python -m panelflow_cli.iam_gateway CONFIG.json`` with
``{"upstream": "127.0.0.1:P", "project": "demo-x", "principals": [{"name": "api",
"port": 1234, "topics": ["panelflow-plan"]}], "host": "127.0.0.1"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.pubsub_v1.types import PublishRequest, PublishResponse

PUBLISH = "/google.pubsub.v1.Publisher/Publish"
DENIED = "User not authorized to perform this action."


class PrincipalHandler(grpc.GenericRpcHandler):
    """The Publisher API for one principal: declared topics pass, everything else is denied."""

    def __init__(
        self, name: str, project: str, topics: Iterable[str], upstream: grpc.Channel
    ) -> None:
        self.name = name
        self.allowed = {f"projects/{project}/topics/{topic}" for topic in topics}
        self._publish_upstream: Callable[..., PublishResponse] = upstream.unary_unary(
            PUBLISH,
            request_serializer=PublishRequest.serialize,
            response_deserializer=PublishResponse.deserialize,
        )

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        if details.method == PUBLISH:  # type: ignore[attr-defined]
            return grpc.unary_unary_rpc_method_handler(
                self._publish,
                request_deserializer=PublishRequest.deserialize,
                response_serializer=PublishResponse.serialize,
            )
        method = details.method  # type: ignore[attr-defined]
        return grpc.unary_unary_rpc_method_handler(
            lambda _request, context: self._deny(context, f"call {method}"),
            request_deserializer=lambda data: data,
            response_serializer=lambda data: data,
        )

    def _publish(self, request: PublishRequest, context: grpc.ServicerContext) -> PublishResponse:
        if request.topic not in self.allowed:
            self._deny(context, f"publish to {request.topic}")
        try:
            return self._publish_upstream(request, timeout=30)
        except grpc.RpcError as error:
            context.abort(error.code(), error.details() or "")  # type: ignore[attr-defined]
            raise  # abort raises; this line is never reached

    def _deny(self, context: grpc.ServicerContext, what: str) -> Any:
        print(
            json.dumps(
                {"severity": "WARNING", "message": "denied", "principal": self.name, "action": what}
            ),
            file=sys.stderr,
            flush=True,
        )
        context.abort(grpc.StatusCode.PERMISSION_DENIED, DENIED)


def serve(config: dict[str, Any]) -> list[grpc.Server]:
    """One gRPC server per principal, each on its own port; returns them started."""
    upstream = grpc.insecure_channel(config["upstream"])
    servers = []
    for principal in config["principals"]:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        handler = PrincipalHandler(
            principal["name"], config["project"], principal["topics"], upstream
        )
        server.add_generic_rpc_handlers((handler,))
        server.add_insecure_port(f"{config.get('host', '127.0.0.1')}:{principal['port']}")
        server.start()
        servers.append(server)
    return servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--ready", type=Path, default=None, help="file written once serving")
    args = parser.parse_args(argv)
    servers = serve(json.loads(args.config.read_text()))
    if args.ready:
        args.ready.write_text("ready\n")
    stop = threading.Event()
    try:
        stop.wait()
    finally:
        for server in servers:
            server.stop(grace=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
