"""Typed configuration from environment variables, OpenFaaS secret files and FunctionGraph user data.

Each field of a settings model maps to the environment variable named by its alias (upper case). Values are
looked up in order: the environment, ``NAME_FILE`` (a path), then the platform lookup (OpenFaaS secret file
``/var/openfaas/secrets/<name>``, FunctionGraph ``context.getUserData(name)``). :func:`load_settings` validates
everything at once and raises one :class:`ConfigError` listing every problem, never a traceback.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from shared.logs.redact import MASK, is_secret_key, register_secret
from shared.swr.endpoints import iam_endpoint, swr_endpoint, valid_region
from shared.swr.errors import ConfigError
from shared.swr.secreturl import secret_forms

S = TypeVar("S", bound="BaseSettings")
AuthMode = Literal["auto", "token", "agency", "password", "aksk"]

# Names whose values are secrets: registered for redaction as soon as they are read.
SECRET_VARS = {
    "SWR_AUTH_TOKEN",
    "IAM_PASSWORD",
    "CLOUD_SDK_AK",
    "CLOUD_SDK_SK",
    "CLOUD_SDK_SECURITY_TOKEN",
    "WEBHOOK_SECRET",
    "EXPORT_TOKEN",
    "MONITOR_TOKEN",
    "ALERT_WEBHOOK_URL",
    "IDEMPOTENCY_REDIS_URL",
    "STATE_REDIS_URL",
    "HEALTH_LINK_SECRET",
}


class BaseSettings(BaseModel):
    # defer_build: the shared bases (and any settings class a function does not load) build their schema only if
    # validated; each function's own settings class sets ``defer_build=False``, built at import as before (#22).
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A net under ``repr=False``: subclasses that forget it still never show a secret in repr()/str().
        fields = type(self).model_fields
        for name, value in super().__repr_args__():
            field = fields.get(name) if name else None
            alias = (field.alias if field else None) or ""
            secret = name is not None and (is_secret_key(name) or alias in SECRET_VARS)
            yield name, (MASK if secret and value not in (None, "") else value)

    @model_validator(mode="after")
    def _register_secrets(self) -> BaseSettings:
        # Every construction path (load_settings, tests, the CLI) masks the secrets it holds.
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if field.alias in SECRET_VARS and isinstance(value, str):
                register_secret(value)
                if "://" in value:  # a URL: its decoded form and its parts may show up on their own
                    for form in secret_forms(value):
                        register_secret(form)
        return self


class SwrSettings(BaseSettings):
    """What every function needs to reach SWR."""

    swr_region: str | None = Field(default=None, alias="SWR_REGION")
    swr_endpoint: str | None = Field(default=None, alias="SWR_ENDPOINT")
    iam_endpoint: str | None = Field(default=None, alias="IAM_ENDPOINT")
    auth_mode: AuthMode = Field(default="auto", alias="SWR_AUTH_MODE")
    auth_token: str | None = Field(default=None, alias="SWR_AUTH_TOKEN", repr=False)
    iam_username: str | None = Field(default=None, alias="IAM_USERNAME")
    iam_password: str | None = Field(default=None, alias="IAM_PASSWORD", repr=False)
    iam_domain: str | None = Field(default=None, alias="IAM_DOMAIN")
    iam_project: str | None = Field(default=None, alias="IAM_PROJECT")
    ak: str | None = Field(default=None, alias="CLOUD_SDK_AK", repr=False)
    sk: str | None = Field(default=None, alias="CLOUD_SDK_SK", repr=False)
    security_token: str | None = Field(default=None, alias="CLOUD_SDK_SECURITY_TOKEN", repr=False)
    project_id: str | None = Field(default=None, alias="CLOUD_SDK_PROJECT_ID")
    http_timeout: float = Field(default=10.0, gt=0, le=300, alias="HTTP_TIMEOUT")
    http_max_attempts: int = Field(default=4, ge=1, le=10, alias="HTTP_MAX_ATTEMPTS")
    http_backoff_base: float = Field(default=0.2, ge=0, le=30, alias="HTTP_BACKOFF_BASE")
    http_backoff_max: float = Field(default=5.0, ge=0, le=120, alias="HTTP_BACKOFF_MAX")
    deadline_margin_ms: int = Field(default=500, ge=0, le=60_000, alias="DEADLINE_MARGIN_MS")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"] = Field(
        default="INFO", alias="LOG_LEVEL"
    )

    @model_validator(mode="after")
    def _coherent(self) -> SwrSettings:
        problems: list[str] = []
        if self.swr_region and not valid_region(self.swr_region):
            problems.append(f"SWR_REGION: not a region id: {self.swr_region[:40]!r}")
        if not self.swr_region and not self.swr_endpoint:
            problems.append("SWR_REGION: required (or set SWR_ENDPOINT)")
        for name, url in (("SWR_ENDPOINT", self.swr_endpoint), ("IAM_ENDPOINT", self.iam_endpoint)):
            if url and not url.startswith(("http://", "https://")):
                problems.append(f"{name}: must be an http(s) URL")
        mode = self.auth_mode
        if mode == "token" and not self.auth_token:
            problems.append("SWR_AUTH_TOKEN: required when SWR_AUTH_MODE=token")
        if mode == "aksk" and not (self.ak and self.sk):
            problems.append("CLOUD_SDK_AK/CLOUD_SDK_SK: both required when SWR_AUTH_MODE=aksk")
        if (self.ak is None) != (self.sk is None):
            problems.append("CLOUD_SDK_AK/CLOUD_SDK_SK: set both or neither")
        if mode == "password" or self.iam_username:
            missing = [
                n
                for n, v in (
                    ("IAM_USERNAME", self.iam_username),
                    ("IAM_PASSWORD", self.iam_password),
                    ("IAM_DOMAIN", self.iam_domain),
                )
                if not v
            ]
            if missing:
                problems.append(f"{', '.join(missing)}: required for IAM password authentication")
            if not (self.iam_project or self.swr_region):
                problems.append("IAM_PROJECT: required (or SWR_REGION) for a project-scoped token")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def endpoint(self) -> str:
        if self.swr_endpoint:
            return self.swr_endpoint
        assert self.swr_region
        return swr_endpoint(self.swr_region)

    def iam(self) -> str:
        if self.iam_endpoint:
            return self.iam_endpoint
        if self.swr_endpoint and not self.swr_region:
            return self.swr_endpoint  # the emulator serves IAM on the same port
        assert self.swr_region
        return iam_endpoint(self.swr_region)


def env_lookup(
    environ: Mapping[str, str] | None = None, extra: Callable[[str], str | None] | None = None
) -> Callable[[str], str | None]:
    env = os.environ if environ is None else environ

    def lookup(name: str) -> str | None:
        # Surrounding whitespace is dropped wherever the value comes from: a token saved with `echo` ends in a
        # newline, which no HTTP header may carry. An empty value counts as unset (as in load_settings), so
        # it does not hide NAME_FILE or the platform.
        value = _stripped(env.get(name))
        if value is None and env.get(name + "_FILE"):
            try:
                value = _stripped(Path(env[name + "_FILE"]).read_text(encoding="utf-8"))
            except OSError:
                value = None
        if value is None and extra is not None:
            value = _stripped(extra(name))
        return value

    return lookup


def _stripped(value: str | None) -> str | None:
    return (value or "").strip() or None


def load_settings(model: type[S], lookup: Callable[[str], str | None]) -> S:
    """Read every field of ``model`` through ``lookup`` and validate; one ConfigError lists all problems."""
    raw: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name.upper()
        value = lookup(key)
        if value is None or value == "":
            continue
        if key in SECRET_VARS:
            register_secret(value)
        raw[field.alias or name] = value  # pydantic validates by alias, or by field name when there is none
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        problems = _problems(err, model, field_errors_only=True)
        bad = {str(e["loc"][0]) for e in err.errors() if e.get("loc")}
        # Pydantic stops at the first failing model validator (and runs none when a field is invalid), so a
        # subclass's cross-field checks would be lost behind SwrSettings' own: run every one of them.
        for problem in _model_validator_problems(model, raw, bad) or _problems(err, model):
            if problem not in problems:
                problems.append(problem)
        raise ConfigError(problems) from None


def _model_validator_problems(model: type[BaseModel], raw: Mapping[str, Any], bad: set[str]) -> list[str]:
    """Problems of every ``mode="after"`` model validator, each run on its own over the valid fields."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in raw and key not in bad:
            kind: Any = field.annotation
            if (
                field.metadata
            ):  # constraints (gt, le...) without the alias, which a TypeAdapter would warn about
                args: tuple[Any, ...] = (field.annotation, *field.metadata)
                kind = cast(Any, Annotated)[args]
            with contextlib.suppress(Exception):  # a field that fails is reported by the field pass already
                values[name] = TypeAdapter(kind).validate_python(raw[key])
    instance = model.model_construct(**values)
    problems: list[str] = []
    for decorator in model.__pydantic_decorators__.model_validators.values():
        if decorator.info.mode == "after":
            problems.extend(_run_validator(decorator.func, instance))
    return problems


def _run_validator(func: Callable[..., Any], instance: BaseModel) -> list[str]:
    try:
        if len(inspect.signature(func).parameters) > 1:
            func(instance, None)  # (self, info)
        else:
            func(instance)
    except (ValueError, AssertionError) as problem:
        return [p.strip() for p in str(problem).split("; ") if p.strip()]
    except Exception:  # a validator that needs a field we had to drop: that field's problem is listed
        return []
    return []


def _problems(err: ValidationError, model: type[BaseModel], field_errors_only: bool = False) -> list[str]:
    problems: list[str] = []
    for e in err.errors(include_url=False, include_input=False):
        loc = e.get("loc") or ()
        if loc:
            field = model.model_fields.get(str(loc[0]))  # loc is the alias, or the field name when none
            name = (field.alias or str(loc[0]).upper()) if field else str(loc[0])
            problems.append(f"{name}: {e['msg']}")
        elif not field_errors_only:
            msg = str(e["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
            problems.extend(p.strip() for p in msg.split("; "))
    return problems
