"""Configuration: every problem at once, env / NAME_FILE / OpenFaaS secrets / FunctionGraph user data, auth mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import Field, model_validator

from shared.runtime import functiongraph
from shared.runtime.config import SwrSettings, env_lookup, load_settings
from shared.runtime.connect import choose_auth, connect, policy
from shared.runtime.openfaas import secret_lookup
from shared.swr.auth import AgencyAuth, AkSkAuth, IamPasswordAuth, TokenAuth
from shared.swr.errors import ConfigError


def _load(env: dict[str, str], model: type[SwrSettings] = SwrSettings, extra: Any = None) -> SwrSettings:
    return load_settings(model, env_lookup(env, extra))


def _problems(env: dict[str, str], model: type[SwrSettings] = SwrSettings) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(env, model)
    assert str(info.value) == "invalid configuration: " + "; ".join(info.value.problems)
    return info.value.problems


class FnSettings(SwrSettings):
    """A function's settings: its own fields and its own cross-field check, as docs/CONTRIBUTING.md says."""

    webhook_secret: str | None = Field(default=None, alias="WEBHOOK_SECRET", repr=False)
    batch_size: int = Field(default=10, ge=1, le=100, alias="BATCH_SIZE")
    target_regions: str = Field(default="", alias="TARGET_REGIONS")

    @model_validator(mode="after")
    def _fn(self) -> FnSettings:
        problems = []
        if not self.target_regions:
            problems.append("TARGET_REGIONS: required")
        if self.batch_size > 50 and not self.webhook_secret:
            problems.append("WEBHOOK_SECRET: required when BATCH_SIZE > 50")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# -- every problem at once ---------------------------------------------------------------------------------------------


def test_minimal_valid_settings() -> None:
    s = _load({"SWR_REGION": "cn-north-4", "SWR_AUTH_TOKEN": "tok-123456"})
    assert s.endpoint() == "https://swr-api.cn-north-4.myhuaweicloud.com"
    assert s.iam() == "https://iam.cn-north-4.myhuaweicloud.com"
    assert (s.auth_mode, s.http_timeout, s.http_max_attempts, s.log_level) == ("auto", 10.0, 4, "INFO")


def test_sovereign_region_and_explicit_endpoints() -> None:
    s = _load({"SWR_REGION": "eu-west-101"})
    assert s.endpoint() == "https://swr-api.eu-west-101.myhuaweicloud.eu"
    assert s.iam() == "https://iam.eu-west-101.myhuaweicloud.eu"
    s = _load({"SWR_ENDPOINT": "http://127.0.0.1:9000"})
    assert s.endpoint() == "http://127.0.0.1:9000" and s.iam() == "http://127.0.0.1:9000"
    s = _load({"SWR_ENDPOINT": "http://127.0.0.1:9000", "IAM_ENDPOINT": "http://127.0.0.1:9001"})
    assert s.iam() == "http://127.0.0.1:9001"


def test_every_problem_is_listed_at_once() -> None:
    problems = _problems(
        {
            "SWR_REGION": "Not A Region",
            "IAM_ENDPOINT": "ftp://iam",
            "SWR_AUTH_MODE": "aksk",
            "CLOUD_SDK_AK": "AKONLY12345",
            "IAM_USERNAME": "alice",
            "HTTP_TIMEOUT": "-1",
            "HTTP_MAX_ATTEMPTS": "many",
            "LOG_LEVEL": "LOUD",
        }
    )
    expected_prefixes = [
        "HTTP_TIMEOUT:",
        "HTTP_MAX_ATTEMPTS:",
        "LOG_LEVEL:",
        "SWR_REGION: not a region id",
        "IAM_ENDPOINT: must be an http(s) URL",
        "CLOUD_SDK_AK/CLOUD_SDK_SK: both required when SWR_AUTH_MODE=aksk",
        "CLOUD_SDK_AK/CLOUD_SDK_SK: set both or neither",
        "IAM_PASSWORD, IAM_DOMAIN: required for IAM password authentication",
    ]
    for prefix in expected_prefixes:
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)
    assert len(problems) == len(expected_prefixes)
    assert len(set(problems)) == len(problems)


def test_cross_field_problems_with_no_field_errors() -> None:
    assert _problems({"SWR_AUTH_MODE": "token"}) == [
        "SWR_REGION: required (or set SWR_ENDPOINT)",
        "SWR_AUTH_TOKEN: required when SWR_AUTH_MODE=token",
    ]
    assert _problems({"SWR_REGION": "cn-north-4", "SWR_AUTH_MODE": "password"}) == [
        "IAM_USERNAME, IAM_PASSWORD, IAM_DOMAIN: required for IAM password authentication"
    ]


def test_subclass_problems_are_listed_with_the_base_ones() -> None:
    # SwrSettings' own check fails first; the function's check must still be reported.
    problems = _problems({"BATCH_SIZE": "80", "SWR_AUTH_MODE": "token"}, FnSettings)
    assert problems == [
        "SWR_REGION: required (or set SWR_ENDPOINT)",
        "SWR_AUTH_TOKEN: required when SWR_AUTH_MODE=token",
        "TARGET_REGIONS: required",
        "WEBHOOK_SECRET: required when BATCH_SIZE > 50",
    ]


def test_subclass_field_errors_and_cross_field_problems_together() -> None:
    problems = _problems({"BATCH_SIZE": "0", "HTTP_TIMEOUT": "x"}, FnSettings)
    assert [p.split(":")[0] for p in problems] == [
        "HTTP_TIMEOUT",
        "BATCH_SIZE",
        "SWR_REGION",
        "TARGET_REGIONS",
    ]


def test_subclass_valid() -> None:
    s = _load(
        {
            "SWR_REGION": "cn-north-4",
            "TARGET_REGIONS": "ap-southeast-1",
            "BATCH_SIZE": "60",
            "WEBHOOK_SECRET": "whsec-123456",
        },
        FnSettings,
    )
    assert isinstance(s, FnSettings) and s.batch_size == 60


def test_settings_are_frozen() -> None:
    s = _load({"SWR_REGION": "cn-north-4"})
    with pytest.raises(Exception):
        s.swr_region = "x"  # type: ignore[misc]


def test_empty_values_count_as_unset() -> None:
    assert _problems({"SWR_REGION": "", "SWR_ENDPOINT": ""}) == ["SWR_REGION: required (or set SWR_ENDPOINT)"]


# -- sources: env, NAME_FILE, OpenFaaS secrets, FunctionGraph user data -------------------------------------------------


def test_name_file_variables(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("tok-from-file-123\n", encoding="utf-8")
    lookup = env_lookup({"SWR_AUTH_TOKEN_FILE": str(token_file), "SWR_REGION": "cn-north-4"})
    assert lookup("SWR_AUTH_TOKEN") == "tok-from-file-123"  # trailing newline stripped
    assert (
        _load({"SWR_AUTH_TOKEN_FILE": str(token_file), "SWR_REGION": "cn-north-4"}).auth_token
        == "tok-from-file-123"
    )
    # The plain variable wins over the file; an empty plain variable does not hide the file.
    assert (
        env_lookup({"SWR_AUTH_TOKEN": "tok-env-12345", "SWR_AUTH_TOKEN_FILE": str(token_file)})(
            "SWR_AUTH_TOKEN"
        )
        == "tok-env-12345"
    )
    assert (
        env_lookup({"SWR_AUTH_TOKEN": "", "SWR_AUTH_TOKEN_FILE": str(token_file)})("SWR_AUTH_TOKEN")
        == "tok-from-file-123"
    )
    # A missing file is "unset", so the usual problem is reported.
    assert env_lookup({"SWR_AUTH_TOKEN_FILE": str(tmp_path / "missing")})("SWR_AUTH_TOKEN") is None


def test_openfaas_secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "swr-auth-token").write_text("tok-openfaas-1234\n", encoding="utf-8")
    (tmp_path / "iam_password").write_text("pw-openfaas-1234", encoding="utf-8")
    (tmp_path / "CLOUD_SDK_AK").write_text("AK-OPENFAAS-1", encoding="utf-8")
    (tmp_path / "cloud-sdk-sk").write_text("SK-OPENFAAS-1", encoding="utf-8")
    (tmp_path / "subdir").mkdir()
    monkeypatch.setenv("OPENFAAS_SECRETS_DIR", str(tmp_path))
    lookup = secret_lookup()
    assert lookup("SWR_AUTH_TOKEN") == "tok-openfaas-1234"  # faas-cli style name: lower case, dashes
    assert lookup("IAM_PASSWORD") == "pw-openfaas-1234"
    assert lookup("CLOUD_SDK_AK") == "AK-OPENFAAS-1"  # exact name
    assert lookup("CLOUD_SDK_SK") == "SK-OPENFAAS-1"
    assert lookup("SUBDIR") is None and lookup("NOPE") is None
    assert secret_lookup(str(tmp_path / "elsewhere"))("SWR_AUTH_TOKEN") is None
    s = _load({"SWR_REGION": "cn-north-4"}, extra=lookup)
    assert (s.auth_token, s.iam_password, s.ak, s.sk) == (
        "tok-openfaas-1234",
        "pw-openfaas-1234",
        "AK-OPENFAAS-1",
        "SK-OPENFAAS-1",
    )
    # Environment first, then the secret file.
    assert (
        _load({"SWR_REGION": "cn-north-4", "SWR_AUTH_TOKEN": "tok-env-98765"}, extra=lookup).auth_token
        == "tok-env-98765"
    )


def test_openfaas_default_secrets_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENFAAS_SECRETS_DIR", raising=False)
    from shared.runtime import openfaas

    seen: list[str] = []
    monkeypatch.setattr(openfaas.Path, "is_file", lambda self: seen.append(str(self)) or False)
    assert secret_lookup()("SWR_AUTH_TOKEN") is None
    assert seen[0] == "/var/openfaas/secrets/SWR_AUTH_TOKEN"
    assert "/var/openfaas/secrets/swr-auth-token" in seen


class FgContext:
    def __init__(self, user_data: dict[str, str], **methods: Any) -> None:
        self.user_data = user_data
        for name, value in methods.items():
            setattr(self, name, lambda value=value: value)

    def getUserData(self, key: str) -> str | None:
        return self.user_data.get(key)


def test_functiongraph_user_data_lookup() -> None:
    ctx = FgContext({"SWR_REGION": "ap-southeast-1", "SWR_AUTH_TOKEN": "tok-userdata-123", "EMPTY": ""})
    inv = functiongraph.to_invocation({}, ctx, "fn")
    assert inv.lookup("SWR_AUTH_TOKEN") == "tok-userdata-123"
    assert inv.lookup("EMPTY") is None and inv.lookup("MISSING") is None
    s = _load({}, extra=inv.lookup)
    assert (s.swr_region, s.auth_token) == ("ap-southeast-1", "tok-userdata-123")
    # A context without getUserData, or one that raises, is no source at all.
    assert functiongraph.to_invocation({}, object(), "fn").lookup("SWR_REGION") is None

    class Broken:
        def getUserData(self, key: str) -> str:
            raise RuntimeError("boom")

    assert functiongraph.to_invocation({}, Broken(), "fn").lookup("SWR_REGION") is None


# -- auth mode selection -------------------------------------------------------------------------------------------------

BASE = {"SWR_REGION": "cn-north-4"}
TOKEN_ENV = {"SWR_AUTH_TOKEN": "tok-choose-1234"}
AKSK_ENV = {"CLOUD_SDK_AK": "AK-CHOOSE-1", "CLOUD_SDK_SK": "SK-CHOOSE-1"}
PW_ENV = {"IAM_USERNAME": "alice", "IAM_PASSWORD": "pw-choose-1234", "IAM_DOMAIN": "acme"}


class AgencyContext:
    def getToken(self) -> str:
        return "agency-token-1234"


@pytest.mark.parametrize(
    ("env", "context", "expected"),
    [
        ({**TOKEN_ENV}, None, TokenAuth),
        ({**AKSK_ENV}, None, AkSkAuth),
        ({**PW_ENV}, None, IamPasswordAuth),
        ({}, AgencyContext(), AgencyAuth),
        # auto preference: token, then AK/SK, then password, then the agency
        ({**TOKEN_ENV, **AKSK_ENV, **PW_ENV}, AgencyContext(), TokenAuth),
        ({**AKSK_ENV, **PW_ENV}, AgencyContext(), AkSkAuth),
        ({**PW_ENV}, AgencyContext(), IamPasswordAuth),
        # explicit mode wins
        ({"SWR_AUTH_MODE": "aksk", **TOKEN_ENV, **AKSK_ENV}, None, AkSkAuth),
        ({"SWR_AUTH_MODE": "password", **TOKEN_ENV, **PW_ENV}, None, IamPasswordAuth),
        ({"SWR_AUTH_MODE": "agency", **TOKEN_ENV}, AgencyContext(), AgencyAuth),
        ({"SWR_AUTH_MODE": "token", **TOKEN_ENV, **AKSK_ENV}, AgencyContext(), TokenAuth),
    ],
)
def test_choose_auth(env: dict[str, str], context: Any, expected: type) -> None:
    auth = choose_auth(_load({**BASE, **env}), context)
    assert type(auth) is expected
    assert (
        auth.name
        == {TokenAuth: "token", AkSkAuth: "aksk", IamPasswordAuth: "password", AgencyAuth: "agency"}[expected]
    )


def test_choose_auth_password_project_defaults_to_region() -> None:
    auth = choose_auth(_load({**BASE, **PW_ENV}))
    assert isinstance(auth, IamPasswordAuth)
    assert auth._key == ("https://iam.cn-north-4.myhuaweicloud.com", "acme", "alice", "cn-north-4")
    auth = choose_auth(_load({**BASE, **PW_ENV, "IAM_PROJECT": "proj-x"}))
    assert auth._key[3] == "proj-x"  # type: ignore[attr-defined]


def test_choose_auth_without_credentials_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        choose_auth(_load(BASE), context=None)
    assert "no SWR credentials" in info.value.problems[0]
    with pytest.raises(ConfigError, match="no SWR credentials"):
        choose_auth(_load(BASE), context=object())  # a context without agency methods
    with pytest.raises(ConfigError, match="agency"):
        choose_auth(_load({**BASE, "SWR_AUTH_MODE": "agency"}), context=None)


def test_choose_auth_never_asserts_on_incoherent_settings() -> None:
    # model_construct skips validation (as a test or a caller might): still a ConfigError, not AssertionError.
    for mode in ("token", "aksk", "password"):
        settings = SwrSettings.model_construct(swr_region="cn-north-4", auth_mode=mode)
        with pytest.raises(ConfigError):
            choose_auth(settings)


def test_connect_wires_policy_deadline_and_endpoint() -> None:
    s = _load(
        {
            **BASE,
            **TOKEN_ENV,
            "HTTP_TIMEOUT": "3",
            "HTTP_MAX_ATTEMPTS": "2",
            "HTTP_BACKOFF_BASE": "0.5",
            "HTTP_BACKOFF_MAX": "4",
            "DEADLINE_MARGIN_MS": "1000",
        }
    )
    client = connect(s, remaining_ms=5000)
    assert client.endpoint == "https://swr-api.cn-north-4.myhuaweicloud.com"
    assert (
        client.policy.timeout,
        client.policy.max_attempts,
        client.policy.base_delay,
        client.policy.max_delay,
    ) == (3, 2, 0.5, 4)
    assert 3.9 < client.deadline.remaining() <= 4.0
    assert connect(s).deadline.remaining() == float("inf")
    assert connect(s, endpoint="http://127.0.0.1:1").endpoint == "http://127.0.0.1:1"
    assert policy(s).max_attempts == 2


def test_settings_built_without_load_settings_still_register_their_secrets() -> None:
    """Tests and the CLI build settings directly: their secrets are masked in logs all the same."""
    from functions.job_monitor.settings import MonitorSettings
    from shared.logs.redact import scrub

    MonitorSettings.model_validate(
        {
            "SWR_REGION": "cn-north-4",
            "SWR_AUTH_TOKEN": "direct-token-value-123",
            "MONITOR_NAMESPACES": "demo",
            "MONITOR_TOKEN": "monitor-token-value-0123456789",
            "ALERT_WEBHOOK_URL": "https://hooks.example/T0/secret-path",
        }
    )
    text = "a direct-token-value-123 b monitor-token-value-0123456789 c https://hooks.example/T0/secret-path"
    assert scrub(text) == "a *** b *** c ***"
