"""job-monitor's trigger: what a run was asked to do (overrides from a timer's ``user_event`` or a manual call's
body, validated by pydantic at this edge), the options of the run, and who may cause side effects."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.job_monitor.alerts import REPEAT_GUARD
from functions.job_monitor.scope import pattern_problems
from functions.job_monitor.settings import MonitorSettings
from shared.record import field, record
from shared.runtime.credentials import bearer_matches
from shared.runtime.model import Invocation
from shared.swr import wirejson


class BadRequest(Exception):
    def __init__(self, status: int, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problems = problems or []


class Overrides(BaseModel):
    """Per-run overrides: a TIMER's ``user_event`` JSON, a manual call's JSON body."""

    model_config = ConfigDict(extra="forbid")

    namespaces: list[str] | None = None
    repos: list[str] | None = None
    dry_run: bool | None = None
    resync: bool | None = None  # false disables re-sync for this run; true cannot enable what config disabled
    alert: bool | None = None  # false: no alert for this run
    # reconcile mode (functions/job_monitor/reconcile/mode.py): a plan, or with apply the sync of the difference
    mode: Literal["monitor", "reconcile"] = "monitor"
    apply: bool = False
    max_calls: int | None = Field(default=None, ge=1, le=100_000)


@record
class RunOptions:
    """What one monitor run does, from the settings and the trigger's overrides."""

    repos: list[str]
    namespaces: list[str]
    dry_run: bool
    resync: bool
    alert: bool
    trigger: str = "timer"
    warnings: list[str] = field(default_factory=list)


def options(settings: MonitorSettings, overrides: Overrides, trigger: str, warnings: list[str]) -> RunOptions:
    scoped = overrides.repos is not None or overrides.namespaces is not None
    repos = list(overrides.repos or []) if scoped else settings.repo_patterns
    namespaces = list(overrides.namespaces or []) if scoped else settings.namespace_patterns
    problems = [f"repos: {p}" for p in pattern_problems(repos, repos=True)]
    problems += [f"namespaces: {p}" for p in pattern_problems(namespaces, repos=False)]
    if scoped and not repos and not namespaces:
        # The caller's overrides emptied the scope: their mistake (400), not the configuration's (500).
        problems.append("repos, namespaces: the overrides select no repository (give at least one entry)")
    if problems:
        raise BadRequest(400, "invalid overrides", problems)
    if not repos and not namespaces:
        raise BadRequest(500, "no scope: set MONITOR_REPOS and/or MONITOR_NAMESPACES")
    return RunOptions(
        repos=repos,
        namespaces=namespaces,
        dry_run=settings.dry_run or bool(overrides.dry_run),
        resync=settings.resync and overrides.resync is not False,
        alert=overrides.alert is not False,
        trigger=trigger,
        warnings=warnings,
    )


def _validation_problems(err: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors(include_url=False)
    ]


def parse_overrides(invocation: Invocation, log: Any) -> tuple[Overrides, list[str]]:
    """Overrides of this invocation, and warnings. Raises BadRequest for a manual call with a bad body."""
    req = invocation.request
    if invocation.trigger == "http":
        if not req.body.strip():
            return Overrides(), []
        try:
            data = wirejson.loads(req.body)
        except ValueError as err:
            raise BadRequest(400, "body must be a JSON object (or empty)") from err
        if not isinstance(data, dict):
            raise BadRequest(400, "body must be a JSON object (or empty)")
        try:
            return Overrides.model_validate(data), []
        except ValidationError as err:
            raise BadRequest(400, "invalid overrides", _validation_problems(err)) from err
    if invocation.platform == "openfaas":
        return Overrides(), []  # cron-connector: an empty POST; nothing in it is trusted
    event = invocation.event
    if invocation.trigger == "timer" and isinstance(event, dict):
        raw = event.get("user_event")
        if not isinstance(raw, str) or not raw.strip():
            return Overrides(), []
        try:
            data = wirejson.loads(raw)
        except ValueError:
            log.info("timer user_event is not JSON: ignored")
            return Overrides(), []
    else:
        data = event
    if not isinstance(data, dict):
        return Overrides(), []
    known = {k: v for k, v in data.items() if k in Overrides.model_fields}
    unknown = sorted(k for k in data if k not in Overrides.model_fields)
    warnings = [f"ignored unknown override(s): {', '.join(unknown)[:200]}"] if unknown else []
    try:
        return Overrides.model_validate(known), warnings
    except ValidationError as err:
        # A typo in a timer's overrides must not silently turn a dry run into a real one.
        raise BadRequest(400, "invalid overrides", _validation_problems(err)) from err


# -- who may cause side effects ----------------------------------------------------------------------------

UNAUTHENTICATED_RUN = "unauthenticated_run"  # RepeatGuard key: side effects of open runs, once per period


def authenticated(settings: MonitorSettings, invocation: Invocation) -> bool:
    """A FunctionGraph timer (only the platform fires it) or a call with MONITOR_TOKEN as its bearer token.

    On OpenFaaS every call is HTTP: ``X-Connector: cron-connector`` is a header anyone who reaches the gateway
    can send, so it authenticates nothing.
    """
    if invocation.platform == "functiongraph" and invocation.trigger == "timer":
        return True
    token = settings.monitor_token
    return bool(token) and bearer_matches(invocation.request, token or "")


def gate_side_effects(
    settings: MonitorSettings, invocation: Invocation, opts: RunOptions, now: datetime
) -> None:
    """Alerts and re-syncs only for authenticated runs.

    An unauthenticated run (an OpenFaaS call without the bearer token, whatever its headers) observes only when
    MONITOR_TOKEN is configured. Without MONITOR_TOKEN the function is open by configuration: side effects are
    then allowed once per MONITOR_PERIOD_SECONDS per warm instance, so that repeated calls in one period do not
    repeat alerts or re-syncs (across instances this needs durable state: see docs/job-monitor.md).
    """
    if authenticated(settings, invocation) or not (opts.alert or opts.resync):
        return
    if not settings.monitor_token and REPEAT_GUARD.allow(UNAUTHENTICATED_RUN, now, settings.period_seconds):
        return
    opts.alert = opts.resync = False
    why = (
        "unauthenticated call (no MONITOR_TOKEN bearer token; X-Connector authenticates nothing)"
        if settings.monitor_token
        else "an unauthenticated run already alerted and re-synced in this period"
    )
    opts.warnings.append(f"{why}: observe only, no alert and no re-sync")
