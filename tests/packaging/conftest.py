"""Fixtures of the packaging suite: builds (once per session), isolated runs of the built artifacts.

Builds need the runtime wheels pinned by requirements.lock. They are cached under build/wheels/<target>/ and
downloaded with pip only when missing, so only the first run needs network access; without it the tests fail
with a message saying so (deselect the suite with ``-m "not packaging"``).
"""

from __future__ import annotations

import base64
import json
import os
import platform
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localdev.packager.build import FUNCTIONS, PROJECT_ROOT, code_zip_name, existing_functions
from localdev.packager.wheels import PackagingError, Target
from tests.packaging import yamlsubset

HERE = Path(__file__).resolve().parent
EVENTS = PROJECT_ROOT / "events"
NETWORK_HINT = (
    "the packaging tests need the runtime wheels pinned by requirements.lock in build/wheels/; they are "
    "downloaded with pip on the first run, which needs access to the package index. Run once with network "
    'access, or deselect these tests with -m "not packaging".'
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "packaging: builds deployment artifacts (pip download on first run)")


def host_target() -> Target:
    machine = platform.machine().lower()
    arch = "arm64" if machine in ("aarch64", "arm64") else "x86_64"
    return Target(f"{sys.version_info[0]}.{sys.version_info[1]}", arch)


def present_functions() -> list[str]:
    return existing_functions(PROJECT_ROOT)


def skip_if_absent(function: str) -> None:
    if function not in present_functions():
        pytest.skip(f"functions/{FUNCTIONS[function]}/index.py does not exist yet: nothing to package")


def run_package(argv: list[str]) -> None:
    """``swr-sync package ARGV`` in this process; a download problem fails with the network hint."""
    from localdev.packager.build import build
    from localdev.packager.cli import options, parser

    opts = options(parser().parse_args(argv), present_functions())
    opts.log = lambda _msg: None
    try:
        build(opts)
    except PackagingError as err:
        if "pip download" in str(err) or "--offline" in str(err):
            pytest.fail(f"{NETWORK_HINT}\n\n{err}", pytrace=False)
        raise


@dataclass
class Build:
    out: Path
    target: Target
    functions: list[str]

    def zip(self, function: str) -> Path:
        return self.out / "functiongraph" / f"{code_zip_name(function, self.target)}.zip"

    def tree(self, function: str) -> Path:
        return self.out / "functiongraph" / code_zip_name(function, self.target)

    def openfaas(self, function: str) -> Path:
        return self.out / "openfaas" / function

    @property
    def sizes(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.out / "sizes.json").read_text(encoding="utf-8"))
        return data


def _build(tmp_path_factory: pytest.TempPathFactory, name: str, target: Target, extra: list[str]) -> Build:
    functions = present_functions()
    if not functions:
        pytest.skip("no function package exists yet (functions/*/index.py)")
    out = tmp_path_factory.mktemp(name) / "dist"
    argv = ["--python", target.python, "--arch", target.arch, "--out", str(out), *extra]
    for function in functions:
        argv += ["--function", function]
    run_package(argv)
    return Build(out, target, functions)


@pytest.fixture(scope="session")
def default_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """What ``make package`` builds (defaults: CPython 3.12, x86_64, bundled), into a temporary directory."""
    return _build(tmp_path_factory, "default", Target("3.12", "x86_64"), [])


@pytest.fixture(scope="session")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Artifacts for this interpreter's version and this machine, so that they can run here."""
    return _build(tmp_path_factory, "host", host_target(), [])


# -- configuration of the deployment files ------------------------------------------------------------------


def load_yaml(name: str) -> Any:
    return yamlsubset.loads((PROJECT_ROOT / name).read_text(encoding="utf-8"))


def resolve_vars(value: Any, variables: dict[str, Any]) -> Any:
    """Serverless Devs ``${vars.NAME}`` substitution."""
    if isinstance(value, str):
        for key, sub in variables.items():
            value = value.replace("${vars." + key + "}", str(sub))
        return value
    if isinstance(value, dict):
        return {k: resolve_vars(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_vars(v, variables) for v in value]
    return value


def envsubst(value: str, environ: dict[str, str] | None = None) -> str:
    """faas-cli's ``${VAR}`` / ``${VAR:-default}`` expansion."""
    import re

    env = environ or {}

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3)
        return env.get(name) or (default if default is not None else "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", sub, value)


def template_function(function: str) -> dict[str, Any]:
    """template.yaml's ``props`` of ``function``, ``${vars.*}`` resolved."""
    doc = load_yaml("template.yaml")
    props: dict[str, Any] = resolve_vars(doc["services"][function]["props"], doc.get("vars") or {})
    return props


def stack_function(function: str) -> dict[str, Any]:
    doc = load_yaml("stack.yaml")
    fn: dict[str, Any] = doc["functions"][function]
    return fn


# -- events --------------------------------------------------------------------------------------------------


def is_openfaas_spec(event: Any) -> bool:
    """OpenFaaS request specs are ``{method, headers, body...}`` without APIG's ``httpMethod``."""
    return isinstance(event, dict) and "httpMethod" not in event and bool({"method", "body"} & event.keys())


def event_files(function: str) -> list[Path]:
    return sorted((EVENTS / function).glob("*.json"))


def functiongraph_events(function: str) -> list[Path]:
    return [
        p for p in event_files(function) if not is_openfaas_spec(json.loads(p.read_text(encoding="utf-8")))
    ]


def openfaas_request(event: Any) -> dict[str, Any] | None:
    """An HTTP request for the python3-http template built from a sample event, or None if not HTTP-like."""
    if is_openfaas_spec(event):
        return dict(event)
    if isinstance(event, dict) and "httpMethod" in event:  # APIG: the same request, unwrapped
        body = event.get("body") or ""
        if event.get("isBase64Encoded") and isinstance(body, str):
            body = base64.b64decode(body).decode("utf-8")
        return {
            "method": event["httpMethod"],
            "path": event.get("path") or "/",
            "headers": event.get("headers") or {},
            "query": event.get("queryStringParameters") or {},
            "body": body,
        }
    if isinstance(event, dict) and str(event.get("trigger_type", "")).upper() == "TIMER":
        # what cron-connector sends instead of a timer event
        return {
            "method": "POST",
            "path": "/",
            "headers": {"X-Connector": "cron-connector", "X-Topic": "cron-function"},
            "body": "",
        }
    return None


def params(function_events: Callable[[str], list[Path]]) -> list[Any]:
    """pytest params (function, event file) for every function, a skipped one where there is no event yet."""
    out: list[Any] = []
    for function in FUNCTIONS:
        files = function_events(function)
        if not files:
            out.append(
                pytest.param(
                    function,
                    None,
                    id=f"{function}-no-events",
                    marks=pytest.mark.skip(reason=f"events/{function}/ has no sample event of this kind yet"),
                )
            )
        out += [pytest.param(function, f, id=f"{function}-{f.stem}") for f in files]
    return out


# -- isolated processes --------------------------------------------------------------------------------------


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """A minimal environment: nothing of the caller's PYTHON*, SWR_* or secrets leaks into the child."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME")}
    env.update(extra)
    return env


def last_json_line(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.strip().splitlines() if line.strip()]
    if not lines:
        raise AssertionError("the child printed nothing")
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def run_isolated(
    args: list[str], env: dict[str, str], timeout: float = 120, python: str | None = None
) -> dict[str, Any]:
    """``python -I -S ARGS`` (no site-packages, no user site, no PYTHON* variables, no script directory)."""
    proc = subprocess.run(
        [python or sys.executable, "-I", "-S", *args],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}\n{proc.stdout[-2000:]}"
        )
    return last_json_line(proc.stdout)


def unpack_zip(zip_path: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    assert not any(dest.iterdir()), "must unpack into an empty directory"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    return dest
