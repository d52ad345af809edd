"""(b) Each FunctionGraph zip, unpacked alone, runs every sample event against the emulator.

The zip is built for this interpreter's Python version and this machine's architecture (so pydantic-core
loads), unpacked into an empty directory and imported by a fresh ``python -I -S`` whose only import path is that
directory: the project and its venv are invisible, exactly like the FunctionGraph runtime that sees only the
code package. Configuration comes from template.yaml (what would be deployed), secrets as FunctionGraph
encrypted variables (``context.getUserData``).
"""

from __future__ import annotations

import json
import platform
import zipfile
from pathlib import Path
from typing import Any

import pytest

from localdev.emulator import Emulator
from localdev.packager.build import find_compiler
from tests.conftest import EMULATOR_TOKEN
from tests.packaging.conftest import (
    HERE,
    Build,
    functiongraph_events,
    params,
    run_isolated,
    skip_if_absent,
    template_function,
    unpack_zip,
)
from tests.packaging.scenarios import SCENARIOS, outcome_of_functiongraph

pytestmark = pytest.mark.packaging


def run_zip(
    build: Build,
    function: str,
    events: list[Any],
    emulator: Emulator,
    tmp_path: Path,
    mode: str,
    python: str | None = None,
) -> dict[str, Any]:
    code_dir = unpack_zip(build.zip(function), tmp_path / "code")
    scenario = SCENARIOS[function]
    env = {k: str(v) for k, v in template_function(function)["function"]["environmentVariables"].items()}
    env["SWR_ENDPOINT"] = emulator.url
    token = None
    if mode == "token":
        env.update({"SWR_AUTH_MODE": "token", "SWR_AUTH_TOKEN": EMULATOR_TOKEN})
    else:  # template.yaml's own mode: the agency's token from the context
        assert env.get("SWR_AUTH_MODE") == "agency"
        token = EMULATOR_TOKEN
    spec = tmp_path / "events.json"
    spec.write_text(json.dumps({"user_data": scenario.secrets, "token": token, "events": events}))
    out = run_isolated([str(HERE / "fg_runner.py"), str(code_dir), str(spec)], env, python=python)
    for name, origin in out["modules"].items():
        assert origin and Path(origin).resolve().is_relative_to(code_dir.resolve()), (
            f"{name} came from {origin}"
        )
    return out


def check_contract(event: Any, result: Any) -> None:
    if isinstance(event, dict) and "httpMethod" in event:
        # APIG answers 500 to anything but this exact shape
        assert isinstance(result, dict), result
        assert isinstance(result["statusCode"], int)
        assert isinstance(result["body"], str)
        assert isinstance(result["headers"], dict)
        assert isinstance(result["isBase64Encoded"], bool)
    json.dumps(result)  # FunctionGraph serialises whatever is returned


@pytest.mark.parametrize(("function", "event_file"), params(functiongraph_events))
def test_zip_runs_sample_event(
    host_build: Build, emulator: Emulator, tmp_path: Path, function: str, event_file: Path
) -> None:
    skip_if_absent(function)
    event = json.loads(event_file.read_text(encoding="utf-8"))
    scenario = SCENARIOS[function]
    scenario.seed(emulator)
    out = run_zip(host_build, function, [event], emulator, tmp_path, mode="token")
    result = out["results"][0]
    check_contract(event, result)
    scenario.check(emulator, event, outcome_of_functiongraph(result))
    memory_mb = template_function(function)["function"]["memorySize"]
    assert out["peak_rss_kib"] < memory_mb * 1024 / 2, (
        "peak RSS must stay well under template.yaml's memorySize"
    )
    # Cold path (#22): what shared.boot defers is never loaded by a sample event over http (the emulator).
    assert out["stdlib"] == dict.fromkeys(out["stdlib"], "DeferredModule"), out["stdlib"]
    # ... and an event imports none of the project's modules (imported with the handler) but those of a mode
    # that loads its own (the health page, reconcile) or of a configuration that needs them (the catalogue's
    # models, for a monitor that lists namespaces), nor any dependency but the regex engine of a rule.
    lazy = (
        "functions.job_monitor.health",
        "functions.job_monitor.reconcile",
        "shared.swr.catalog",
        "re2",
        "encodings.",
    )
    late = [m for m in out["imported_by_events"] if not m.startswith(lazy)]
    assert not [m for m in late if m.split(".")[0] in ("functions", "shared", "pydantic", "structlog")], late


@pytest.mark.parametrize("function", ["push-sync", "job-monitor", "policy-export"])
def test_zip_with_agency_credentials(
    host_build: Build, emulator: Emulator, tmp_path: Path, function: str
) -> None:
    """template.yaml as deployed (SWR_AUTH_MODE=agency): the token comes from ``context.getToken()``."""
    skip_if_absent(function)
    files = functiongraph_events(function)
    if not files:
        pytest.skip(f"events/{function}/ has no FunctionGraph sample event yet")
    event = json.loads(files[0].read_text(encoding="utf-8"))
    scenario = SCENARIOS[function]
    scenario.seed(emulator)
    out = run_zip(host_build, function, [event], emulator, tmp_path, mode="agency")
    scenario.check(emulator, event, outcome_of_functiongraph(out["results"][0]))
    seen = [r for r in emulator.state.requests() if r.get("path", "").startswith("/v2/")]
    assert seen, "the function never called SWR"


@pytest.mark.parametrize("function", ["push-sync", "job-monitor", "policy-export"])
def test_deployable_zip_runs_on_its_own_python(
    default_build: Build, emulator: Emulator, tmp_path: Path, function: str
) -> None:
    """The zip `make package` builds (CPython 3.12, x86_64) on a CPython 3.12, when this machine has one."""
    skip_if_absent(function)
    python = find_compiler(default_build.target, None)
    if python is None or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(
            f"no CPython {default_build.target.python} on this x86_64 machine to run the deployable zip"
        )
    files = functiongraph_events(function)
    if not files:
        pytest.skip(f"events/{function}/ has no FunctionGraph sample event yet")
    event = json.loads(files[0].read_text(encoding="utf-8"))
    scenario = SCENARIOS[function]
    scenario.seed(emulator)
    out = run_zip(default_build, function, [event], emulator, tmp_path, mode="agency", python=python)
    scenario.check(emulator, event, outcome_of_functiongraph(out["results"][0]))
    # on FunctionGraph's own Python too (3.12: logging asks for asyncio on every record), nothing deferred loads
    assert out["stdlib"] == dict.fromkeys(out["stdlib"], "DeferredModule"), out["stdlib"]
    with zipfile.ZipFile(default_build.zip(function)) as zf:
        names = zf.namelist()
    # dependencies: byte-code only, beside where the source was; the project's own code: both
    assert "pydantic/main.pyc" in names and "pydantic/main.py" not in names, "dependencies ship as byte-code"
    assert "__pycache__/typing_extensions.cpython-312.pyc" not in names and "typing_extensions.pyc" in names
    assert "shared/boot.py" in names and "shared/__pycache__/boot.cpython-312.pyc" in names
