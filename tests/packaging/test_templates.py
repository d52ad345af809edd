"""(d) template.yaml (Serverless Devs, component fgs) and (e) stack.yaml (OpenFaaS): structure and references.

Everything they name must exist: handlers, code paths (as the packager names its output), environment
variables (a settings field alias, or documented in docs/), secrets (mapped to a settings field the way
shared.runtime.openfaas reads them). Their configuration must also load with the function's settings model.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from localdev.packager.build import FUNCTIONS, PROJECT_ROOT, code_zip_name
from localdev.packager.wheels import Target
from shared.runtime.config import load_settings
from shared.runtime.openfaas import parse_duration
from shared.swr.errors import ConfigError
from tests.packaging import yamlsubset
from tests.packaging.conftest import (
    Build,
    envsubst,
    load_yaml,
    skip_if_absent,
    stack_function,
    template_function,
)
from tests.packaging.scenarios import SCENARIOS

pytestmark = pytest.mark.packaging

FG_RUNTIMES = {"Python3.10": "3.10", "Python3.12": "3.12"}
FG_MEMORY = {128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096}
WATCHDOG_VARS = {"exec_timeout", "read_timeout", "write_timeout"}


def settings_model(function: str) -> Any:
    skip_if_absent(function)
    module = importlib.import_module(f"functions.{FUNCTIONS[function]}.index")
    return module.APP.settings_model


def aliases(model: Any) -> set[str]:
    return {field.alias or name.upper() for name, field in model.model_fields.items()}


def documented(name: str) -> bool:
    return any(name in p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "docs").glob("*.md"))


# -- template.yaml -------------------------------------------------------------------------------------------


def test_template_top_level() -> None:
    doc = load_yaml("template.yaml")
    assert doc["edition"] == "1.0.0"
    assert doc["name"] and doc["access"]
    assert isinstance(doc["vars"], dict)
    assert set(doc["services"]) == set(FUNCTIONS)
    for service in doc["services"].values():
        assert service["component"] == "fgs"
        assert set(service["props"]) <= {"region", "function", "trigger", "updateType"}


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_template_function(function: str, default_build: Build) -> None:
    props = template_function(function)
    fn = props["function"]
    assert "${" not in str(props), "every ${vars.*} must be defined"
    assert props["region"] == fn["environmentVariables"]["SWR_REGION"]
    assert fn["handler"] == "index.handler"
    assert fn["runtime"] in FG_RUNTIMES
    assert fn["memorySize"] in FG_MEMORY
    assert 3 <= fn["timeout"] <= 900
    assert fn["agencyName"], "the agency provides the SWR credentials"
    assert fn["codeType"] == "zip"
    # the code path is what the packager builds for that runtime (x86_64), relative to the project root
    skip_if_absent(function)
    code_uri = fn["code"]["codeUri"]
    expected = code_zip_name(function, Target(FG_RUNTIMES[fn["runtime"]], "x86_64"))
    assert code_uri == f"./dist/functiongraph/{expected}"
    if FG_RUNTIMES[fn["runtime"]] == default_build.target.python:
        built = default_build.out / "functiongraph" / expected
        assert (built / "index.py").is_file(), "codeUri must be a directory with index.py at its root"
        assert (built.parent / f"{expected}.zip").is_file()


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_template_environment_is_known_and_loads(function: str) -> None:
    model = settings_model(function)
    env = {k: v for k, v in template_function(function)["function"]["environmentVariables"].items()}
    known = aliases(model)
    for name, value in env.items():
        assert isinstance(value, str), (
            f"{name}: FunctionGraph environment values are strings; quote {value!r}"
        )
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name), name
        assert not name.startswith("RUNTIME_"), f"{name}: reserved by FunctionGraph"
        assert name in known or documented(name), f"{name}: not a setting of {function} nor documented"
    secret = set(SCENARIOS[function].secrets)
    assert not secret & set(env), "secrets belong in encrypted variables, not in template.yaml"
    assert sum(len(k) + len(v) for k, v in env.items()) <= 4096, "FunctionGraph limit on environment size"
    values = {**env, **SCENARIOS[function].secrets}
    try:
        load_settings(model, values.get)
    except ConfigError as err:
        pytest.fail(f"template.yaml's configuration of {function} does not load: {err.problems}")


def test_template_triggers() -> None:
    push = template_function("push-sync")["trigger"]
    monitor = template_function("job-monitor")["trigger"]
    export = template_function("policy-export")["trigger"]
    for trigger, function in ((push, "push-sync"), (export, "policy-export")):
        assert trigger["triggerTypeCode"] == "APIG"
        data = trigger["eventData"]
        assert data["auth"] in ("IAM", "APP", "NONE") and data["protocol"] in ("HTTP", "HTTPS")
        timeout_ms = data["timeout"]
        assert 1 <= timeout_ms <= 60000
        assert (
            timeout_ms >= template_function(function)["function"]["timeout"] * 1000 or timeout_ms == 60000
        ), "APIG must wait as long as the function may run"
    assert monitor["triggerTypeCode"] == "TIMER"
    data = monitor["eventData"]
    if data["scheduleType"] == "Cron":
        fields = data["schedule"].split()
        assert len(fields) == 6, "FunctionGraph cron has a seconds field"
        assert fields[0] == "0" and fields[1] == "*/5"
    else:
        assert data["scheduleType"] == "Rate" and re.fullmatch(r"\d+[mhd]", data["schedule"])
    import json

    assert isinstance(json.loads(data["userEvent"]), dict), "user_event is a JSON object (per-run overrides)"
    for trigger in (push, monitor, export):
        assert trigger["status"] in ("ACTIVE", "DISABLED")


# -- stack.yaml ----------------------------------------------------------------------------------------------


def test_stack_top_level() -> None:
    doc = load_yaml("stack.yaml")
    assert str(doc["version"]) == "1.0"
    assert doc["provider"]["name"] == "openfaas"
    assert envsubst(doc["provider"]["gateway"]).startswith("http")
    templates = doc["configuration"]["templates"]
    assert {
        "name": "python3-http",
        "source": "https://github.com/openfaas/python-flask-template",
    } in templates
    assert set(doc["functions"]) == set(FUNCTIONS)


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_stack_function(function: str, default_build: Build) -> None:
    fn = stack_function(function)
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,62}", function), "OpenFaaS names are DNS labels"
    assert fn["lang"] == "python3-http"
    assert fn["handler"] == f"./dist/openfaas/{function}"
    assert fn["image"] == "${REGISTRY:-ghcr.io/example}/swr-" + function + ":latest"
    assert envsubst(fn["image"]) == f"ghcr.io/example/swr-{function}:latest"
    assert all(isinstance(v, str) for v in (fn.get("build_args") or {}).values()), (
        "build_args is a string map"
    )
    env = fn["environment"]
    exec_s, read_s, write_s = (
        parse_duration(env[k]) for k in ("exec_timeout", "read_timeout", "write_timeout")
    )
    assert exec_s and read_s and write_s, "watchdog timeouts must be Go durations"
    assert exec_s <= write_s and exec_s <= read_s
    skip_if_absent(function)
    assert (default_build.out / "openfaas" / function / "handler.py").is_file()


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_stack_environment_and_secrets(function: str) -> None:
    model = settings_model(function)
    fn = stack_function(function)
    env = {k: envsubst(str(v)) for k, v in fn["environment"].items()}
    known = aliases(model)
    for name in env:
        if name in WATCHDOG_VARS:
            assert documented(name), f"{name}: document the watchdog variables in docs/deploy.md"
            continue
        assert name in known or documented(name), f"{name}: not a setting of {function} nor documented"
    secrets = fn.get("secrets") or []
    from shared.runtime.config import SECRET_VARS

    values: dict[str, str] = dict(env)
    for secret in secrets:
        assert re.fullmatch(r"[a-z0-9-]+", secret), secret
        variable = secret.upper().replace("-", "_")  # shared.runtime.openfaas.secret_lookup's mapping
        assert variable in known, f"secret {secret} feeds no setting of {function}"
        assert variable in SECRET_VARS, f"{variable} must be redacted as a secret"
        assert variable not in env, f"{variable} is a secret: not in environment"
        values[variable] = "x" * 32
    for name, value in SCENARIOS[function].secrets.items():
        assert name.lower().replace("_", "-") in secrets, f"{function} needs the secret of {name}"
        values[name] = value
    try:
        load_settings(model, values.get)
    except ConfigError as err:
        pytest.fail(f"stack.yaml's configuration of {function} does not load: {err.problems}")


def test_cron_connector_annotations() -> None:
    annotations = stack_function("job-monitor")["annotations"]
    assert annotations["topic"] == "cron-function"
    fields = annotations["schedule"].split()
    assert len(fields) == 5, "cron-connector takes 5-field cron (no seconds)"
    assert fields == ["*/5", "*", "*", "*", "*"]
    for function in ("push-sync", "policy-export"):
        assert "topic" not in (stack_function(function).get("annotations") or {})


# -- the YAML reader the tests rely on -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["template.yaml", "stack.yaml"])
def test_yaml_reading_agrees_with_pyyaml(name: str) -> None:
    yaml = pytest.importorskip(
        "yaml", reason="PyYAML not installed: the subset reader is checked below instead"
    )
    text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
    assert yamlsubset.loads(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: 1\nb: '2'\nc: true\nd: ~\ne: x y # c\n", {"a": 1, "b": "2", "c": True, "d": None, "e": "x y"}),
        ("a:\n  - x\n  - k: v\n    j: 2\nb: []\n", {"a": ["x", {"k": "v", "j": 2}], "b": []}),
        ("a:\n- 1\n- 2\n", {"a": [1, 2]}),
        ("s: 'it''s # not a comment'\nd: \"q\\u00e9\"\n", {"s": "it's # not a comment", "d": "qé"}),
        ("v: 1.0\nc: 0 */5 * * * ?\n", {"v": 1.0, "c": "0 */5 * * * ?"}),
    ],
)
def test_yaml_subset_reads(text: str, value: Any) -> None:
    assert yamlsubset.loads(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\n",
        "a: {b: 1}\n",
        "a: |\n  x\n",
        "a: 1\na: 2\n",
        "a:\n\t- x\n",
        "a: b: c\n",
        "a: 'x\n",
        "a:\n  b: 1\n c: 2\n",
    ],
)
def test_yaml_subset_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(yamlsubset.YamlSubsetError):
        yamlsubset.loads(text)


def test_docs_cover_the_deployment_files() -> None:
    deploy = Path(PROJECT_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for needle in (
        "s deploy -t template.yaml",
        "faas-cli up -f stack.yaml",
        "faas-cli secret create",
        "agency",
    ):
        assert needle in deploy, needle
