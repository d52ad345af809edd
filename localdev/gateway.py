"""An APIG-like gateway for the local stack: HTTP requests become FunctionGraph trigger events for the functions.

``POST /push-sync``, ``GET /policy-export``, ``POST``/``GET /job-monitor`` and ``GET /health`` (job-monitor's GET),
with APIG's request payload limit; :func:`timer_event` is what the timer trigger sends.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localdev.context import FunctionGraphContext


def apig_event(
    method: str, path: str, headers: dict[str, Any], query: dict[str, list[str]], body: bytes
) -> dict[str, Any]:
    """The FunctionGraph APIG trigger event for an HTTP request (body base64, headers lower-cased)."""
    return {
        "httpMethod": method,
        "path": path,
        "headers": {k.lower(): v for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()},
        "pathParameters": {},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
        "requestContext": {"apiId": "local", "requestId": f"local-{time.monotonic_ns()}", "stage": "RELEASE"},
    }


def timer_event(user_event: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": "v1.0",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "trigger_type": "TIMER",
        "trigger_name": "local-timer",
        "user_event": json.dumps(user_event or {}),
    }


APIG_MAX_BODY = 4 * 1024 * 1024  # APIG trigger request payload limit


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 resets connections under a burst of webhook deliveries


class Gateway:
    """Routes HTTP requests to function handlers through the FunctionGraph adapter, as APIG would."""

    ROUTES = {
        ("POST", "/push-sync"): "push-sync",
        ("GET", "/policy-export"): "policy-export",
        ("POST", "/job-monitor"): "job-monitor",
        ("GET", "/job-monitor"): "job-monitor",
        ("GET", "/health"): "job-monitor",  # the health page (job-monitor's GET)
    }

    def __init__(self, host: str, port: int, invoke: Callable[[str, dict[str, Any]], Any]) -> None:
        self._invoke = invoke
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the walkthrough is the output
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                raw_length = self.headers.get("Content-Length") or "0"
                length = int(raw_length) if raw_length.isascii() and raw_length.isdigit() else -1
                if length < 0 or length > APIG_MAX_BODY:
                    # As APIG would: never read (or truncate) a body it does not accept.
                    status = 400 if length < 0 else 413
                    headers = {"Content-Type": "application/json", "Connection": "close"}
                    payload = json.dumps(
                        {"error": "bad Content-Length" if length < 0 else "body too large"}
                    ).encode()
                    self.close_connection = True
                else:
                    body = self.rfile.read(length) if length else b""
                    status, headers, payload = gateway.dispatch(
                        self.command,
                        parts.path,
                        _header_map(self.headers.items()),
                        parse_qs(parts.query),
                        body,
                    )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.server = _GatewayServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"

    def dispatch(
        self, method: str, path: str, headers: dict[str, Any], query: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if path in ("/", ""):
            index = {"functions": [f"{m} {p}" for (m, p) in self.ROUTES]}
            return 200, {"Content-Type": "application/json"}, json.dumps(index).encode()
        function = next((f for (m, p), f in self.ROUTES.items() if p == path), None)
        if function is None:
            return 404, {"Content-Type": "application/json"}, b'{"error":"no such function route"}'
        if (method, path) not in self.ROUTES:
            return 405, {"Content-Type": "application/json"}, b'{"error":"method not allowed"}'
        if path == "/health" and "format" not in query:
            query = {**query, "format": ["html"]}
        result = self._invoke(function, apig_event(method, path, headers, query, body))
        if not isinstance(result, dict) or "statusCode" not in result:
            return 200, {"Content-Type": "application/json"}, json.dumps(result, default=str).encode()
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        return (
            int(result["statusCode"]),
            {str(k): str(v) for k, v in (result.get("headers") or {}).items()},
            payload,
        )

    def serve_in_background(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _header_map(items: Any) -> dict[str, Any]:
    """Lower-cased header names; a repeated header becomes a list, so the adapter sees (and counts) it."""
    from localdev.emulator.wire import fold_repeats

    return dict(fold_repeats((name.lower(), value) for name, value in items))


def invoke_function(name: str, event: dict[str, Any]) -> Any:
    from localdev.registry import load

    return load(name).handler(event, FunctionGraphContext(name, timeout_s=60))
