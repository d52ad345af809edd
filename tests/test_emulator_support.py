"""Helpers shared by the emulator tests (no tests here)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "emulator-test-token"  # = tests/conftest.py EMULATOR_TOKEN
AK, SK = "EMULATORTESTAK", "emulator-test-sk"


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = TOKEN,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    content_type: str | None = "application/json",
) -> tuple[int, dict[str, str], Any]:
    """One raw urllib request; returns (status, lower-cased headers, parsed JSON body or text or None)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    h: dict[str, str] = {}
    if content_type:
        h["Content-Type"] = content_type
    if token:
        h["X-Auth-Token"] = token
    h.update(headers or {})
    req = urllib.request.Request(base + path, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, hdrs, payload = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, hdrs, payload = err.code, err.headers, err.read()
    lowered = {k.lower(): v for k, v in hdrs.items()}
    text = payload.decode()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return status, lowered, parsed


class Receiver:
    """A loopback HTTP server recording every POST (headers, body); answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []
        self.event = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                outer.received.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                outer.event.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
