"""HTTP front end: ThreadingHTTPServer, region prefixes, request log, faults, auth, routing; the Emulator class."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.logs.redact import redact, scrub

from . import admin, iam, swr_api
from .auth import authenticate
from .faults import Fault
from .state import DEFAULT_REGIONS, Clock, EmulatorState, fmt_time
from .webhooks import DEFAULT_TIMEOUT
from .wire import INTERNAL, Problem, Request, Response, default_error_body

log = logging.getLogger("localdev.emulator")

MAX_BODY = 16 * 1024 * 1024
LOGGED_BODY_MAX = 64 * 1024
_REGION_PREFIX = re.compile(r"/regions/([^/?#]+)(/.*)?")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops SYNs when a client opens 16+ connections at once (each drop
    # costs a 1 s retransmit): concurrent exports and load tests need a real backlog.
    request_queue_size = 128
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: clients hang up, resets
        log.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, keep-alive clients wait ~40 ms per answer.
    disable_nagle_algorithm = True
    server: _Server
    server_version = "swr-emulator/1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            log.info("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    # -- the pipeline -----------------------------------------------------------------------------------------

    def _handle(self) -> None:
        emu = self.server.emulator
        state = emu.state
        request_id = uuid.uuid4().hex
        raw_path, _, raw_query = self.path.partition("?")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(Response.json(400, default_error_body(400)), request_id)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        req = Request(self.command, raw_path, raw_query, headers, body, request_id=request_id)

        match = _REGION_PREFIX.fullmatch(raw_path)
        if match:
            req.region, req.path = match.group(1), match.group(2) or "/"
        else:
            req.region, req.path = state.default_region, raw_path
        if req.region not in state.regions:
            problem = Problem.apig(404, "APIG.0101", "The API does not exist or has not been published")
            self._send(problem.response(request_id), request_id)
            return

        if req.path == "/_emulator" or req.path.startswith("/_emulator/"):
            self._send(admin.handle(state, req), request_id)
            return

        entry = state.log_request(
            {
                "time": fmt_time(state.now()),
                "region": req.region,
                "method": req.method,
                "path": self.path,
                "headers": redact(headers),
                "body": _loggable(body),
                "request_id": request_id,
                "status": None,
                "fault": None,
            }
        )
        fault = state.take_fault(req.method, self.path)
        if fault is not None and self._fault_answered(fault, entry, request_id):
            return
        try:
            resp = self._api(req)
        except Problem as problem:
            resp = problem.response(request_id)
        except Exception:  # an emulator bug must still answer like SWR would
            log.exception("emulator error on %s %s", req.method, scrub(self.path))
            resp = Problem.swr(500, INTERNAL, "Internal error").response(request_id)
        if fault is not None and fault.rewrites:
            resp = _rewrite(resp, fault.body, fault.headers)
        entry["status"] = resp.status
        self._send(resp, request_id)

    def _fault_answered(self, fault: Fault, entry: dict[str, Any], request_id: str) -> bool:
        """Apply a fault's delay; True when it answers (a reset or its status) instead of the API."""
        entry["fault"] = fault.id
        if fault.delay:
            time.sleep(fault.delay)
        if fault.reset:
            entry["status"] = "reset"
            self._reset()
            return True
        if fault.status is not None:
            resp = _fault_response(fault.status, fault.body, fault.headers)
            entry["status"] = resp.status
            self._send(resp, request_id)
            return True
        return False

    def _api(self, req: Request) -> Response:
        state = self.server.emulator.state
        if req.path.rstrip("/") == "/v3/auth/tokens" and req.method == "POST":
            return iam.issue_token(state, req)
        if req.path.startswith("/v2/"):
            with state.lock:
                req.user = authenticate(state, req)
                try:
                    return swr_api.dispatch(state, req)
                except swr_api.NoRoute:
                    pass
        raise Problem.apig(404, "APIG.0101", "The API does not exist or has not been published")

    def _send(self, resp: Response, request_id: str) -> None:
        self.send_response(resp.status)
        sent = {k.lower() for k in resp.headers}
        for key, value in resp.headers.items():
            self.send_header(key, value)
        if "x-request-id" not in sent:
            self.send_header("X-Request-Id", request_id)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST (SO_LINGER 0), writing nothing."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True
        self.wfile = io.BytesIO()  # the base class flushes wfile after us
        self.rfile = io.BytesIO()


def _loggable(body: bytes) -> Any:
    if not body:
        return None
    try:
        return redact(json.loads(body))
    except ValueError:
        return scrub(body[:LOGGED_BODY_MAX].decode("utf-8", "replace"))


def _rewrite(resp: Response, body: Any, headers: dict[str, str]) -> Response:
    """The real answer with the fault's headers merged in (case-insensitively) and its body, if any."""
    out = {k: v for k, v in resp.headers.items() if k.lower() not in {h.lower() for h in headers}}
    out.update(headers)
    if body is None:
        data = resp.body
    else:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return Response(resp.status, data, out)


def _fault_response(status: int, body: Any, headers: dict[str, str]) -> Response:
    if body is None:
        data = json.dumps(default_error_body(status)).encode() if status >= 400 else b""
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
    out = {"Content-Type": "application/json;charset=utf-8"}
    out.update(headers)
    return Response(status, data, out)


class Emulator:
    """SWR + IAM emulator serving several regions at once.

    The default region is served at the root; every region also under ``/regions/{region}``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        regions: tuple[str, ...] | list[str] = DEFAULT_REGIONS,
        default_region: str | None = None,
        clock: Clock | None = None,
        waiting_seconds: float = 1.0,
        running_seconds: float = 2.0,
        users: dict[str, tuple[str, str]] | None = None,
        static_tokens: tuple[str, ...] | list[str] = (),
        aksk: dict[str, str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
        webhook_timeout: float = DEFAULT_TIMEOUT,
        verbose: bool = False,
    ) -> None:
        regions = tuple(regions)
        if default_region is None:
            default_region = "cn-north-4" if "cn-north-4" in regions else (regions[0] if regions else None)
        self.state = EmulatorState(
            regions=regions,
            default_region=default_region,
            clock=clock,
            waiting_seconds=waiting_seconds,
            running_seconds=running_seconds,
            users=users,
            static_tokens=static_tokens,
            aksk=aksk,
            state_file=state_file,
        )
        self.host = host
        self.port = port
        self.webhook_timeout = webhook_timeout
        self.verbose = verbose
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.emulator = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True, name="swr-emulator"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.state.state_file is not None:
            self.state.save(self.state.state_file)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- addresses --------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the default region (no trailing slash)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def region_url(self, region: str) -> str:
        """Base URL addressing ``region`` (``{url}/regions/{region}``)."""
        if region not in self.state.regions:
            raise ValueError(f"unknown region {region!r}")
        return f"{self.url}/regions/{region}"

    # -- conveniences -----------------------------------------------------------------------------------------

    def push(
        self,
        namespace: str,
        repository: str,
        tag: str,
        digest: str | None = None,
        region: str | None = None,
        asynchronous: bool = False,
    ) -> dict[str, Any]:
        """Simulate a push (tag stored, auto-sync jobs created, webhooks delivered); same as the admin API."""
        return admin.push(
            self.state, namespace, repository, tag, digest, region, asynchronous, self.webhook_timeout
        )

    def add_webhook(self, url: str, format: str = "harbor", headers: dict[str, str] | None = None) -> int:
        return self.state.add_webhook(url, format, headers).id

    def issue_token(self, user: str | None = None) -> str:
        return self.state.issue_token(user).token
