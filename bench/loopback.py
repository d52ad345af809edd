"""A tiny stdlib HTTP server on 127.0.0.1 that answers every request with ``[]`` (the namespace listing with the
bench namespace, so that policy-export's first invocation exports it: an empty export).

It records each request and checks its SDK-HMAC-SHA256 signature with the project's verifier, so a run only
counts when the request really left the process, signed, exactly as the case says.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from shared.swr import signer


@dataclass
class Seen:
    method: str
    path: str
    signature: str  # "valid" or the verifier's reason
    user_agent: str


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        raw_path, _, raw_query = self.path.partition("?")
        headers = dict(self.headers.items())
        reason = signer.verify(
            {self.server.ak: self.server.sk},
            self.command,
            raw_path,
            parse_qs(raw_query, keep_blank_values=True) if raw_query else None,
            headers,
            body,
            datetime.now(timezone.utc),
        )
        with self.server.lock:
            self.server.seen.append(
                Seen(self.command, raw_path, reason or "valid", self.headers.get("User-Agent", ""))
            )
        payload = b'{"namespaces":[{"name":"bench"}]}' if raw_path == "/v2/manage/namespaces" else b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ak: str, sk: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ak, self.sk = ak, sk
        self.seen: list[Seen] = []
        self.lock = threading.Lock()


class Loopback:
    def __init__(self, ak: str, sk: str) -> None:
        self._server = _Server(ak, sk)
        self._thread = threading.Thread(target=self._server.serve_forever, name="bench-loopback", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Loopback:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> list[Seen]:
        """The requests seen since the last call."""
        with self._server.lock:
            seen, self._server.seen = self._server.seen, []
        return seen

    def __enter__(self) -> Loopback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
