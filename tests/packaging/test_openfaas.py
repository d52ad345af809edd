"""(e) Each assembled OpenFaaS handler folder, run through the python3-http harness, against the emulator.

The folder is laid out as the template's image (``function/`` next to the template's ``index.py`` logic), the
function's requirements come from the pinned wheels (what ``pip install -r requirements.txt`` installs in the
image), Flask from the venv through a site directory holding Flask alone, and the interpreter is a fresh
``python -I -S``: the project is invisible. Configuration comes from stack.yaml's ``environment``; credentials
are the secrets it lists, as files under a secrets directory (cloud-sdk-ak/sk = the emulator's AK/SK pair, so
every SWR call is signed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localdev import openfaas_harness
from localdev.emulator import Emulator
from localdev.packager.wheels import ensure_wheels, runtime_pins, unpack_wheel
from tests.conftest import EMULATOR_AK, EMULATOR_SK
from tests.packaging.conftest import (
    Build,
    clean_env,
    envsubst,
    event_files,
    host_target,
    openfaas_request,
    params,
    run_isolated,
    skip_if_absent,
    stack_function,
)
from tests.packaging.scenarios import SCENARIOS, outcome_of_http

pytestmark = pytest.mark.packaging

HARNESS = Path(openfaas_harness.__file__)


def http_events(function: str) -> list[Path]:
    return [p for p in event_files(function) if openfaas_request(json.loads(p.read_text(encoding="utf-8")))]


@pytest.fixture(scope="session")
def requirements_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The function's requirements as the image installs them: the pinned wheels for this interpreter."""
    from localdev.packager.build import PROJECT_ROOT

    site = tmp_path_factory.mktemp("requirements-site")
    for wheel in ensure_wheels(
        host_target(), PROJECT_ROOT / "build" / "wheels", runtime_pins(host_target()), log=False
    ):
        unpack_wheel(wheel, site)
    return site


@pytest.fixture(scope="session")
def flask_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return openfaas_harness.flask_site(tmp_path_factory.mktemp("flask-site"))


def secret_files(function: str, directory: Path) -> Path:
    """The secrets stack.yaml lists, with values the emulator and the sample events accept."""
    values = {
        "cloud-sdk-ak": EMULATOR_AK,
        "cloud-sdk-sk": EMULATOR_SK,
        **{name.lower().replace("_", "-"): value for name, value in SCENARIOS[function].secrets.items()},
    }
    directory.mkdir()
    for name in stack_function(function).get("secrets") or []:
        assert name in values, f"stack.yaml lists secret {name!r}: the test has no value for it"
        (directory / name).write_text(values[name] + "\n")  # faas-cli secrets often end with a newline
    return directory


def run_handler(
    build: Build,
    function: str,
    requests: list[dict[str, Any]],
    emulator: Emulator,
    tmp_path: Path,
    sites: list[Path],
) -> dict[str, Any]:
    image = openfaas_harness.assemble_image(build.openfaas(function), tmp_path / "image")
    env = {k: envsubst(str(v)) for k, v in (stack_function(function).get("environment") or {}).items()}
    env["SWR_ENDPOINT"] = emulator.url
    env["OPENFAAS_SECRETS_DIR"] = str(secret_files(function, tmp_path / "secrets"))
    req_file = tmp_path / "requests.json"
    req_file.write_text(json.dumps(requests))
    args = [str(HARNESS), "--image", str(image), "--requests", str(req_file)]
    for site in sites:
        args += ["--site", str(site)]
    out = run_isolated(args, env)
    origins = out["modules"]
    assert Path(origins["function"]).resolve().is_relative_to(image.resolve())
    for name in ("functions", "shared"):
        assert Path(origins[name]).resolve().is_relative_to((image / "function").resolve()), origins
    for name in ("pydantic", "pydantic_core", "structlog"):
        assert Path(origins[name]).resolve().is_relative_to(sites[1].resolve()), origins
    return out


@pytest.mark.parametrize(("function", "event_file"), params(http_events))
def test_handler_folder_serves_sample_request(
    host_build: Build,
    emulator: Emulator,
    tmp_path: Path,
    flask_site: Path,
    requirements_site: Path,
    function: str,
    event_file: Path,
) -> None:
    skip_if_absent(function)
    request = openfaas_request(json.loads(event_file.read_text(encoding="utf-8")))
    assert request is not None
    scenario = SCENARIOS[function]
    scenario.seed(emulator)
    out = run_handler(host_build, function, [request], emulator, tmp_path, [flask_site, requirements_site])
    answer = out["answers"][0]
    scenario.check(emulator, request, outcome_of_http(answer))
    assert answer["headers"].get("X-Correlation-Id"), "headers of the handler's dict reach the HTTP answer"
    calls = [r for r in emulator.state.requests() if r["path"].startswith("/v2/")]
    assert calls, "the function never called SWR"
    assert all("X-Sdk-Date" in r["headers"] and "X-Auth-Token" not in r["headers"] for r in calls), calls


@pytest.mark.parametrize("function", ["push-sync", "job-monitor", "policy-export"])
def test_wrong_method_and_unknown_path_answer_cleanly(
    host_build: Build,
    emulator: Emulator,
    tmp_path: Path,
    flask_site: Path,
    requirements_site: Path,
    function: str,
) -> None:
    skip_if_absent(function)
    requests = [
        {"method": "PUT", "path": "/", "headers": {}, "body": ""},
        {"method": "DELETE", "path": "/some/deep/path", "headers": {}, "body": ""},
    ]
    out = run_handler(host_build, function, requests, emulator, tmp_path, [flask_site, requirements_site])
    for answer in out["answers"]:
        assert 400 <= answer["status"] < 500, answer
        json.loads(answer["body"])  # a JSON error, not a traceback page


# -- the harness itself is faithful to the template ----------------------------------------------------------


class _Handler:
    """A stand-in handler module returning canned values, to pin the template's response formatting."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.seen: list[Any] = []

    def handle(self, event: Any, context: Any) -> Any:
        self.seen.append((event.body, dict(event.headers), event.method, event.query.to_dict(), event.path))
        assert context.hostname
        return self.value


@pytest.mark.parametrize(
    ("value", "status", "body", "content_type"),
    [
        (None, 200, "", "text/html; charset=utf-8"),
        ({"statusCode": 201, "body": "x"}, 201, "x", "text/html; charset=utf-8"),
        ({"body": {"a": 1}}, 200, '{"a":1}\n', "application/json"),
        (
            {"statusCode": 200, "body": [1, 2]},
            200,
            "[1, 2]",
            "text/html; charset=utf-8",
        ),  # str(list): not JSON
        ({"statusCode": 202}, 202, "", "text/html; charset=utf-8"),
        ({"body": "{}", "headers": {"Content-Type": "application/json"}}, 200, "{}", "application/json"),
    ],
)
def test_harness_formats_like_the_template(value: Any, status: int, body: str, content_type: str) -> None:
    pytest.importorskip("flask")
    handler = _Handler(value)
    app = openfaas_harness.create_app(handler)  # type: ignore[arg-type]
    answers = openfaas_harness.run_requests(
        app, [{"method": "POST", "path": "/a/b", "query": {"q": "1"}, "headers": {"X-T": "v"}, "body": "hi"}]
    )
    assert answers[0]["status"] == status
    assert answers[0]["body"] == body
    assert answers[0]["headers"]["Content-Type"] == content_type
    raw, headers, method, query, path = handler.seen[0]
    assert (raw, method, query, path) == (b"hi", "POST", {"q": "1"}, "/a/b")
    assert headers["X-T"] == "v"


@pytest.mark.parametrize("function", ["push-sync", "job-monitor", "policy-export"])
def test_shipped_smoke_test_passes_in_the_image_layout(
    host_build: Build, tmp_path: Path, function: str
) -> None:
    """The template's build stage runs `tox` (pytest handler_test.py) in the handler folder: it must pass."""
    skip_if_absent(function)
    image = openfaas_harness.assemble_image(host_build.openfaas(function), tmp_path / "image")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "handler_test.py"],
        cwd=image / "function",
        env=clean_env({}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout
