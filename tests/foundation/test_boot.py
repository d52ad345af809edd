"""shared.boot: stdlib modules deferred until first use, pydantic plugin discovery off by default.

Each case runs in a fresh interpreter (``sys.modules`` is what is under test). The functions' own cold paths are
checked end to end too: tests/packaging runs every sample event through the packaged zips and asserts these
modules were never loaded (tests/foundation/test_import_cost.py checks the importtime view of the same).
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, env: dict[str, str] | None = None, timeout: float = 60) -> dict:
    """Run ``code`` (after ``import shared.boot``) in a fresh interpreter; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, "-c", "import shared.boot\n" + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_deferred_modules_stay_unloaded_until_used_and_references_bound_earlier_work() -> None:
    out = run(
        """
        import json, sys
        import structlog  # binds ``asyncio`` in structlog.stdlib at import
        import structlog.stdlib as std
        from shared import boot
        before = boot.deferred()
        async def answer():
            return 42
        value = std.asyncio.run(answer())  # the reference structlog bound before the load
        print(json.dumps({
            "before": before, "after": boot.deferred(), "value": value,
            "same": sys.modules["asyncio"].run is std.asyncio.run,
            "real": type(sys.modules["asyncio"]).__name__,
        }))
        """
    )
    assert out["before"] == ["asyncio", "importlib.metadata", "secrets", "ssl"]
    assert out["value"] == 42 and out["same"]
    assert out["real"] == "module" and "asyncio" not in out["after"]


def test_a_function_bound_by_from_import_loads_the_module_when_called() -> None:
    out = run(
        """
        import json, sys
        from importlib.metadata import entry_points  # what pydantic's plugin loader does at import
        from shared import boot
        deferred = "importlib.metadata" in boot.deferred()
        groups = entry_points(group="console_scripts")
        print(json.dumps({"deferred_before_call": deferred, "after": boot.deferred(),
                          "has_version": hasattr(sys.modules["importlib.metadata"], "version"),
                          "found": len(list(groups)) >= 0}))
        """
    )
    assert out["deferred_before_call"] is True
    assert "importlib.metadata" not in out["after"] and out["has_version"] and out["found"]


def test_a_deferred_submodule_is_an_attribute_of_its_package() -> None:
    """What Flask does (``import importlib.metadata`` then ``importlib.metadata.version(...)``)."""
    out = run(
        """
        import json
        import importlib.metadata
        print(json.dumps({"version": importlib.metadata.version("pydantic").count(".") >= 1}))
        """
    )
    assert out == {"version": True}


def test_a_submodule_of_a_deferred_package_imports_and_the_package_then_works() -> None:
    out = run(
        """
        import json, sys
        import asyncio.events
        import asyncio
        print(json.dumps({"loop": asyncio.new_event_loop().__class__.__name__,
                          "events": sys.modules["asyncio"].events is sys.modules["asyncio.events"]}))
        """
    )
    assert out["loop"].endswith("EventLoop") and out["events"]


def test_first_use_from_many_threads_loads_once_and_everyone_gets_the_real_module() -> None:
    out = run(
        """
        import json, sys, threading
        import secrets
        barrier = threading.Barrier(16)
        seen = []
        def use():
            barrier.wait()
            seen.append(secrets.compare_digest)
        threads = [threading.Thread(target=use) for _ in range(16)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps({"distinct": len({id(f) for f in seen}), "n": len(seen),
                          "real": sys.modules["secrets"].compare_digest is seen[0]}))
        """
    )
    assert out == {"distinct": 1, "n": 16, "real": True}


def test_modules_already_imported_and_unknown_names_are_left_alone() -> None:
    out = run(
        """
        import json, sys
        from shared import boot
        import json as j
        print(json.dumps({"json": boot.defer("json"), "missing": boot.defer("no_such_module_xyz"),
                          "json_type": type(sys.modules["json"]).__name__}))
        """
    )
    assert out == {"json": False, "missing": False, "json_type": "module"}


def test_pydantic_plugins_are_off_by_default_and_the_operator_value_wins() -> None:
    code = """
        import json, os
        print(json.dumps({"value": os.environ.get("PYDANTIC_DISABLE_PLUGINS")}))
        """
    assert run(code) == {"value": "__all__"}
    assert run(code, env={"PYDANTIC_DISABLE_PLUGINS": ""}) == {"value": ""}
    assert run(code, env={"PYDANTIC_DISABLE_PLUGINS": "logfire"}) == {"value": "logfire"}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_an_https_call_loads_ssl_on_first_use_and_succeeds(tmp_path: Path) -> None:
    """ssl stays deferred only until the first TLS request, which loads it (inside urllib) and works."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        out = run(
            f"""
            import json, urllib.request
            from shared import boot
            before = "ssl" in boot.deferred()
            body = urllib.request.urlopen("https://127.0.0.1:{server.server_address[1]}/", timeout=10).read()
            print(json.dumps({{"before": before, "body": body.decode(), "after": "ssl" in boot.deferred()}}))
            """,
            env={"SSL_CERT_FILE": str(cert)},  # the default context trusts the test certificate
        )
    finally:
        thread.join(timeout=10)
        server.server_close()
    assert out == {"before": True, "body": "ok", "after": False}


def test_boot_itself_is_cheap_stdlib_only() -> None:
    """It runs first on every cold start: no project or third-party module, no importlib.abc/resources."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import shared.boot"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.count("|") == 2}
    assert {"shared", "shared.boot"} <= names
    heavy = {"importlib.abc", "importlib.resources", "pydantic", "structlog", "asyncio", "ssl", "email"}
    assert not heavy & names, heavy & names


def test_a_stand_in_reads_as_not_imported_until_loaded() -> None:
    """logging (3.12+) asks ``sys.modules.get("asyncio")`` for every record's task name, and structlog.stdlib
    makes a record at import: the stand-in must answer "not imported", or asyncio (and ssl) load right there."""
    out = run(
        """
        import json, logging, sys
        record = logging.LogRecord("n", logging.INFO, "f.py", 1, "m", None, None)
        from shared import boot
        stand_in = sys.modules["asyncio"]
        before = bool(stand_in)
        stand_in.get_event_loop_policy()
        print(json.dumps({"deferred": boot.deferred(), "before": before, "after": bool(stand_in),
                          "task": getattr(record, "taskName", None)}))
        """
    )
    assert (out["before"], out["after"], out["task"]) == (False, True, None)
    # loading asyncio may load ssl with it (asyncio.sslproto, depending on the Python)
    assert "asyncio" not in out["deferred"] and {"importlib.metadata", "secrets"} <= set(out["deferred"])
