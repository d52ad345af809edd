"""``swr-sync local [--port 8000]``: the whole product on this machine, no cloud account.

Starts the SWR + IAM emulator, serves the three functions the way their triggers would (an APIG-like gateway:
``POST /push-sync``, ``GET /policy-export``, ``POST /job-monitor``, ``GET /health``; job-monitor also on a
timer), subscribes
push-sync to the emulator's push webhooks, seeds a demo namespace in two regions, and walks through a push,
the sync it causes, the job states, the monitor report and the export. Ctrl-C stops cleanly.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localdev.context import FunctionGraphContext

SOURCE_REGION = "cn-north-4"
TARGET_REGION = "ap-southeast-1"
DEMO_NAMESPACE = "demo"
# Fixed, documented demo credentials: the local stack is ephemeral and loopback-only.
DEMO_WEBHOOK_SECRET = "local-webhook-secret"
DEMO_EXPORT_TOKEN = "local-export-token"
DEMO_MONITOR_TOKEN = "local-monitor-token"
DEMO_RULES = [
    {
        "name": "demo-to-singapore",
        "namespace": DEMO_NAMESPACE,
        "repository": "**",
        "tags": {"exclude": [".*-dev"]},
        "targets": [{"region": TARGET_REGION, "namespace": DEMO_NAMESPACE, "override": False}],
    }
]


def stack_environment(emulator_url: str) -> dict[str, str]:
    """What the three functions are configured with in the local stack (IAM password auth, like production)."""
    return {
        "SWR_REGION": SOURCE_REGION,
        "SWR_ENDPOINT": emulator_url,
        # The emulator serves every region under /regions/{region}: job-monitor reads the target's tags there.
        "SWR_ENDPOINT_TEMPLATE": emulator_url + "/regions/{region}",
        "IAM_ENDPOINT": emulator_url,
        "IAM_USERNAME": "demo",
        "IAM_PASSWORD": "demo-password",
        "IAM_DOMAIN": "demo-domain",
        "WEBHOOK_SECRET": DEMO_WEBHOOK_SECRET,
        "EXPORT_TOKEN": DEMO_EXPORT_TOKEN,
        "MONITOR_TOKEN": DEMO_MONITOR_TOKEN,
        "SYNC_RULES": json.dumps(DEMO_RULES),
        "MONITOR_NAMESPACES": DEMO_NAMESPACE,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }


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


def _http(
    url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request to the gateway or the emulator; an error status is an answer, not an exception."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


class LocalStack:
    def __init__(self, host: str = "127.0.0.1", port: int = 8000, monitor_interval: float = 60.0) -> None:
        from localdev.emulator import Emulator

        self.emulator = Emulator(
            host=host,
            port=0,
            regions=(SOURCE_REGION, TARGET_REGION),
            default_region=SOURCE_REGION,
            waiting_seconds=1.0,
            running_seconds=2.0,
        )
        self.host, self.port = host, port
        self.monitor_interval = monitor_interval
        self._stop = threading.Event()
        self.gateway: Gateway | None = None

    def start(self) -> None:
        self.emulator.start()
        os.environ.update(stack_environment(self.emulator.url))
        from localdev.registry import FUNCTIONS, load

        for name in FUNCTIONS:
            app = getattr(load(name), "APP", None)
            if app is not None:
                app.reset()  # pick up the stack's environment
        self.gateway = Gateway(self.host, self.port, invoke_function)
        self.gateway.serve_in_background()
        state = self.emulator.state
        for region in (SOURCE_REGION, TARGET_REGION):
            state.add_namespace(DEMO_NAMESPACE, region)
        state.add_image(DEMO_NAMESPACE, "team/web", "v0.9", region=SOURCE_REGION)
        state.add_image(DEMO_NAMESPACE, "team/api", "v2.0", region=SOURCE_REGION)
        # Two auto-sync policies, so the export has rows and drift has something to say.
        state.add_sync_repo(
            DEMO_NAMESPACE, "team/web", TARGET_REGION, DEMO_NAMESPACE, True, False, SOURCE_REGION
        )
        state.add_sync_repo(
            DEMO_NAMESPACE, "team/api", TARGET_REGION, DEMO_NAMESPACE, True, True, SOURCE_REGION
        )
        state.add_webhook(f"{self.gateway.url}/push-sync", "harbor", {"Authorization": DEMO_WEBHOOK_SECRET})
        if self.monitor_interval > 0:
            threading.Thread(target=self._timer, name="job-monitor-timer", daemon=True).start()

    def _timer(self) -> None:
        while not self._stop.wait(self.monitor_interval):
            invoke_function("job-monitor", timer_event())

    def stop(self) -> None:
        self._stop.set()
        if self.gateway is not None:
            self.gateway.close()
        self.emulator.stop()

    # -- the walkthrough ------------------------------------------------------------------------------------

    def walkthrough(self, out: Callable[[str], None] = print) -> dict[str, Any]:
        assert self.gateway is not None
        emu, gw = self.emulator.url, self.gateway.url
        out("")
        out("swr-sync local stack")
        out(f"  emulator   {emu}  (SWR + IAM; regions {SOURCE_REGION}, {TARGET_REGION})")
        out(f"  gateway    {gw}  POST /push-sync · GET /policy-export · POST /job-monitor · GET /health")
        out(f"  rule       {DEMO_NAMESPACE}/** (except *-dev tags) → {TARGET_REGION}/{DEMO_NAMESPACE}")
        out("")
        out("1. a developer pushes demo/team/app:v1.0 to the source registry")
        self._push("team/app", "v1.0", out)
        sync_calls = [
            r
            for r in self.emulator.state.requests()
            if r.get("method") == "POST" and "sync_images" in r.get("path", "")
        ]
        out("2. push-sync called SWR's manual sync API:")
        for r in sync_calls[-3:]:
            out(f"   {r['method']} {r['path']}")
            out(f"   body {json.dumps(r.get('body'), separators=(',', ':'))}")
        out("3. the sync job, as SWR reports it:")
        seen: list[str] = []
        for _ in range(40):
            jobs = [j for j in self.emulator.state.jobs() if j.get("repoName") == "team/app"]
            if jobs:
                current = jobs[-1]["status"]
                if not seen or seen[-1] != current:
                    seen.append(current)
                if current not in ("waiting", "running"):
                    break
            time.sleep(0.25)
        out("   " + " → ".join(seen or ["(no job)"]))
        target_tags = self.emulator.state.tags(DEMO_NAMESPACE, "team/app", TARGET_REGION)
        out(f"   {TARGET_REGION} now has demo/team/app tags: {sorted(target_tags) or 'none'}")
        out("4. the registry redelivers the same webhook (a retry after a timeout): nothing is synced twice")
        self._redeliver(out)
        out("5. a push of demo/team/app:v1.1-dev: the rule excludes *-dev tags")
        self._push("team/app", "v1.1-dev", out)
        out("6. job-monitor (timer) report:")
        status, _, body = _http(
            f"{gw}/job-monitor",
            "POST",
            b"{}",
            {"Content-Type": "application/json", "Authorization": f"Bearer {DEMO_MONITOR_TOKEN}"},
        )
        report = _json_or_text(body)
        if isinstance(report, dict):
            job_counts = {k: v for k, v in (report.get("jobs_by_status") or {}).items() if v}
            keys = {k: v for k, v in (report.get("keys_by_status") or {}).items() if v}
            calls = (report.get("api_calls") or {}).get("requests")
            out(f"   {report.get('status')}: keys {keys}, jobs {job_counts}")
            out(f"   {report.get('repositories_scanned')} repositories scanned with {calls} SWR requests")
            for region, lag in (report.get("lag") or {}).items():
                out(
                    f"   replication lag to {region}: p50 {lag.get('p50_seconds')} s, max {lag.get('max_seconds')} s"
                )
        else:
            out(f"   HTTP {status}: {str(report)[:300]}")
        proof = report.get("replication") if isinstance(report, dict) else None
        if isinstance(proof, dict):
            out(
                f"   proof of replication (state store: {(report.get('state') or {}).get('backend')}): "
                f"{proof.get('verified')} verified, {proof.get('pending')} pending, {proof.get('missing')} missing"
            )
            for item in proof.get("settled") or []:
                out(f"   {item.get('key')}: {item.get('status')} ({item.get('reason')})")
        out("7. policy-export (CSV) of the auto-sync policies in namespace demo:")
        status, _, body = _http(
            f"{gw}/policy-export?namespace={DEMO_NAMESPACE}&format=csv",
            headers={"Authorization": f"Bearer {DEMO_EXPORT_TOKEN}"},
        )
        for line in body.decode("utf-8", "replace").splitlines()[:6]:
            out(f"   {line}")
        out("8. drift of those policies against push-sync's rules (compare=rules):")
        status, _, body = _http(
            f"{gw}/policy-export?namespace={DEMO_NAMESPACE}&format=json&compare=rules",
            headers={"Authorization": f"Bearer {DEMO_EXPORT_TOKEN}"},
        )
        drift = (_json_or_text(body) or {}).get("drift") if status == 200 else None
        if isinstance(drift, dict):
            for kind in ("missing", "extra", "different"):
                for item in drift.get(kind) or []:
                    where = f"{item.get('namespace')}/{item.get('repository')} → {item.get('remote_region_id')}/{item.get('remote_namespace')}"
                    override = f"override desired {item.get('desired_override')}, actual {item.get('actual_override')}"
                    out(f"   {kind:<9} {where} ({override})")
        else:
            out(f"   HTTP {status}")
        out("9. the replication health page (job-monitor's GET; a signed link, valid 1 h):")
        out(f"   {self.health_link()}")
        out("")
        out("try it yourself:")
        out(
            f'  curl -s -X POST {emu}/_emulator/images -d \'{{"namespace":"demo","repository":"team/app","tag":"v1.1"}}\''
        )
        out(f"  curl -s -X POST -H 'Authorization: Bearer {DEMO_MONITOR_TOKEN}' {gw}/job-monitor")
        out(
            f"  curl -s -H 'Authorization: Bearer {DEMO_EXPORT_TOKEN}' '{gw}/policy-export?namespace=demo&format=json'"
        )
        out(f"  curl -s {emu}/_emulator/state | python3 -m json.tool | less")
        return {
            "sync_calls": len(sync_calls),
            "job_states": seen,
            "target_tags": sorted(target_tags),
            "replication": proof,
        }

    def health_link(self, ttl: int = 3600) -> str:
        from functions.job_monitor.health import links

        assert self.gateway is not None
        return links.url(f"{self.gateway.url}/health", DEMO_MONITOR_TOKEN, ttl)

    def _push(self, repository: str, tag: str, out: Callable[[str], None]) -> None:
        result = self.emulator.push(DEMO_NAMESPACE, repository, tag, region=SOURCE_REGION)
        for d in result.get("deliveries") or []:
            answer = d.get("response") if isinstance(d.get("response"), (dict, list)) else None
            out(f"   webhook ({d.get('format')}) → push-sync answered HTTP {d.get('status')}")
            for r in (answer or {}).get("results", []) if isinstance(answer, dict) else []:
                reason = f" ({r['reason']})" if r.get("reason") else ""
                out(
                    f"   {r.get('namespace')}/{r.get('repository')}:{r.get('tag')} → {r.get('status')}{reason}"
                )

    def _redeliver(self, out: Callable[[str], None]) -> None:
        deliveries = self.emulator.state.deliveries()
        if not deliveries or not deliveries[-1].get("payload"):
            out("   (no delivery to replay)")
            return
        last = deliveries[-1]
        assert self.gateway is not None
        _, _, body = _http(
            f"{self.gateway.url}/push-sync",
            "POST",
            json.dumps(last["payload"]).encode(),
            {"Content-Type": "application/json", "Authorization": DEMO_WEBHOOK_SECRET},
        )
        answer = _json_or_text(body)
        for r in answer.get("results", []) if isinstance(answer, dict) else []:
            out(f"   {r.get('namespace')}/{r.get('repository')}:{r.get('tag')} → {r.get('status')}")
        calls = sum(1 for r in self.emulator.state.requests() if "sync_images" in r.get("path", ""))
        out(f"   SWR sync_images calls so far: {calls}")

    def serve_forever(self) -> None:
        self._stop.wait()


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="swr-sync local", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=8000, help="gateway port (default 8000; 0 = any free port)"
    )
    parser.add_argument(
        "--monitor-interval", type=float, default=60.0, help="job-monitor timer, seconds (0 = off)"
    )
    parser.add_argument("--once", action="store_true", help="exit after the walkthrough")
    args = parser.parse_args(argv)
    stack = LocalStack(args.host, args.port, args.monitor_interval)
    try:
        stack.start()
    except OSError as err:
        print(
            f"swr-sync local: cannot start: {err} (is port {args.port} in use? try --port 0)", file=sys.stderr
        )
        return 1
    try:
        stack.walkthrough(lambda line: print(line, flush=True))
        if args.once:
            return 0
        print(f"\nserving; the health page: {stack.health_link(7 * 86400)}", flush=True)
        print("press Ctrl-C to stop", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: stack._stop.set())
        stack.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        print("stopped", flush=True)
    return 0
