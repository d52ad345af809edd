"""job-monitor's handler: trigger parsing, the run (scope → read → classify → re-sync → alert → report), HTTP
answer. ``run_monitor`` takes its collaborators as arguments so tests can drive it directly."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.job_monitor import durable
from functions.job_monitor.alerts import (
    REPEAT_GUARD,
    SmnSink,
    WebhookSink,
    compose,
    deliver,
    payload,
    recovery_alert,
    swr_alert,
)
from functions.job_monitor.classify import (
    DISABLED,
    EXHAUSTED,
    FAILED,
    INCOMPLETE,
    Key,
    Policy,
    classify,
    is_due,
    lag_stats,
    status_counts,
    systemic_groups,
)
from functions.job_monitor.proof import ProofContext, Settler, cap_alerts
from functions.job_monitor.reader import scan
from functions.job_monitor.report import Report, iso, public_view
from functions.job_monitor.resync import DRY_RUN, ERROR, ISSUED, SKIPPED, resync
from functions.job_monitor.scope import pattern_problems, resolve
from functions.job_monitor.settings import MonitorSettings
from shared import logs, wirejson
from shared.client import SwrClient
from shared.http import Deadline
from shared.paging import PageBudget
from shared.runtime.credentials import bearer_matches
from shared.runtime.model import Invocation, Response

FUNCTION = "job-monitor"
MAX_BODY_BYTES = 64 * 1024  # a manual call's body holds a few overrides; anything larger is refused unread
_ACTIONS = frozenset({ISSUED, ERROR, DRY_RUN, SKIPPED})


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


@dataclass
class RunOptions:
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


# -- the run ------------------------------------------------------------------------------------------------


def build_sinks(settings: MonitorSettings, context: Any = None) -> list[Any]:
    """The configured alert destinations; ``context`` is the platform context (agency credentials for SMN)."""
    sinks: list[Any] = []
    if settings.alert_webhook_url:
        sinks.append(WebhookSink(settings.alert_webhook_url, settings.alert_format, settings.alert_timeout))
    if settings.smn_topic_urn:
        from shared.connect import choose_auth

        sinks.append(
            SmnSink(
                settings.smn_base(),
                settings.smn_project_id(),
                settings.smn_topic_urn,
                choose_auth(settings, context),
                settings.alert_timeout,
            )
        )
    return sinks


def scan_budget(settings: MonitorSettings, deadline: Deadline) -> Deadline:
    """The time for scope and reading: what is left minus a reserve for re-syncs, alerts and the answer."""
    remaining = deadline.remaining()
    if remaining == float("inf"):
        return Deadline(None)
    reserve = min(0.4 * remaining, 2 * settings.alert_timeout + settings.http_timeout + 1.0)
    return Deadline(max(0.0, remaining - reserve))


def _resync_note(outcome: str | None, attempts: int, budget: int) -> str:
    return {
        ISSUED: f"issued (attempt {attempts + 1} of {budget})",
        DRY_RUN: "would re-sync (dry run)",
        SKIPPED: "skipped: no time left",
        ERROR: "sync_images call failed",
        DISABLED: "disabled",
        EXHAUSTED: f"budget exhausted ({attempts} of {budget} attempts used)",
        INCOMPLETE: "not issued: history incomplete",
    }.get(outcome or "", "n/a")


def run_monitor(
    settings: MonitorSettings,
    client: SwrClient,
    opts: RunOptions,
    now: datetime,
    sinks: list[Any],
    context: dict[str, Any],
    log: Any,
    scan_deadline: Deadline | None = None,
    proof: ProofContext | None = None,
) -> Report:
    started = time.monotonic()
    deadline = client.deadline
    scan_deadline = scan_deadline or scan_budget(settings, deadline)
    lookback_start = now - timedelta(seconds=settings.lookback)
    horizon_start = now - timedelta(seconds=settings.horizon)
    policy = Policy(
        now=now,
        lookback_start=lookback_start,
        period=settings.period_seconds,
        settle=settings.settle_seconds,
        stuck_after=settings.stuck_after_seconds,
        resync=opts.resync,
        max_resync=settings.max_resync,
    )
    window = {
        "lookback_seconds": settings.lookback,
        "lookback_start": iso(lookback_start),
        "horizon_seconds": settings.horizon,
        "horizon_start": iso(horizon_start),
        "period_seconds": settings.period_seconds,
        "settle_seconds": settings.settle_seconds,
        "stuck_after_seconds": settings.stuck_after_seconds,
    }
    report = Report(now, opts.trigger, opts.dry_run, window, warnings=list(opts.warnings))
    report.resync_enabled, report.max_resync = opts.resync, settings.max_resync
    report.alerting_configured = bool(sinks)

    budget = PageBudget(settings.max_scan_pages)
    repos, scope_gaps = resolve(
        client, opts.repos, opts.namespaces, settings.concurrency, scan_deadline, settings.max_pages, budget
    )
    result = scan(
        client,
        repos,
        horizon_start,
        settings.page_size,
        settings.max_pages,
        settings.concurrency,
        scan_deadline,
        budget,
    )
    report.repos_in_scope, report.repos_scanned = len(repos), len(result.read)
    report.gaps = [*scope_gaps, *result.gaps]
    if not repos and not scope_gaps:
        report.warnings.append("the scope matched no repository")
    for gap in report.gaps:
        log.warning(
            "not scanned", repository=gap.target, reason=gap.reason, detail=gap.detail, partial=gap.partial
        )

    all_jobs = [job for r in result.read for job in r.jobs]
    report.jobs_by_status = status_counts(all_jobs, lookback_start)
    report.lag = lag_stats(all_jobs, lookback_start)
    histories = [(r.repo.namespace, r.repo.repository, r.jobs, r.complete) for r in result.read]
    states = [s for s in classify(histories, policy) if s.relevant]
    report.states = states

    memory = durable.RunMemory(proof, opts.dry_run)  # #18: durable alert and re-sync memory
    to_resync = memory.claim_resyncs(states, settings.period_seconds)
    resynced = resync(client, to_resync, policy, settings.concurrency, opts.dry_run, deadline)
    report.resync_groups = resynced.groups
    for group in resynced.groups:
        log.info("re-sync", **group)

    notes: dict[Key, str] = {}
    for s in states:
        if s.category == FAILED and s.recent:
            notes[s.key] = _resync_note(resynced.outcome.get(s.key), s.attempts_used, settings.max_resync)
        report.key_notes[s.key] = {"resync": resynced.outcome.get(s.key)} if s.key in resynced.outcome else {}

    # Systemic causes first: one summary instead of a flood.
    report.systemic = systemic_groups(states, settings.alert_systemic_threshold)
    swr_alert_obj = None
    total = len(repos) + len(scope_gaps)
    for cause, reason in (("swr_auth", "auth"), ("swr_unreachable", "unreachable")):
        hit = [g for g in report.gaps if g.reason == reason]
        count = len(hit) + (resynced.auth_errors if reason == "auth" else 0)
        if count and (count >= settings.alert_systemic_threshold or len(hit) == total):
            refused = resynced.auth_errors if reason == "auth" else 0
            report.swr_problem = {"cause": cause, "repositories": len(hit), "total": total}
            if refused:
                report.swr_problem["resync_refused"] = refused
            if opts.alert and (opts.dry_run or memory.allow_cause(cause, now, settings.alert_repeat_seconds)):
                swr_alert_obj = swr_alert(cause, len(hit), total, refused, hit[0].detail if hit else "")
            break

    due = [s for s in states if is_due(s, policy) and not resynced.remediating(s.key)]
    remember = max(settings.horizon, settings.alert_repeat_seconds)
    due = memory.due(states, due, resynced.remediating, now, remember)
    proof_alerts: list[Any] = [recovery_alert(s) for s in memory.recoveries]
    proven = None
    if proof is not None:  # settle push-sync's intents (functions/job_monitor/proof.py)
        jobs_by_repo = {(r.repo.namespace, r.repo.repository): r.jobs for r in result.read}
        classic = memory.classic(states, resynced.outcome)
        settler = Settler(proof, client, jobs_by_repo, now, settings, opts.resync, opts.dry_run, classic, log)
        proven, intent_alerts = settler.run()
        proof_alerts += intent_alerts
        report.replication = proven.to_dict()
    report.state = memory.info(proven.degraded if proven is not None else "")
    due_keys = {s.key for s in due}
    for s in states:
        # One line per decision taken in this run (keys merely still failing are in the report line only).
        outcome = resynced.outcome.get(s.key)
        if s.key in due_keys or outcome in _ACTIONS:
            log.info(
                "key decision",
                key=s.key.label,
                category=s.category,
                job_id=s.latest.id,
                status=s.latest.status.value,
                resync=outcome,
                alert=s.key in due_keys and opts.alert,
            )
    alerts = (
        compose(due, report.systemic, notes, settings.alert_max_messages, swr_alert_obj) if opts.alert else []
    )
    if opts.alert:
        alerts += cap_alerts(proof_alerts, settings.alert_max_messages - len(alerts))
    for s in due:
        report.key_notes.setdefault(s.key, {})["alerted" if not opts.dry_run else "would_alert"] = opts.alert
    if opts.dry_run:
        report.alerts = [
            {
                **a.summary(),
                "deliveries": [],
                "dry_run": True,
                "payload": payload(a, settings.alert_format, context),
            }
            for a in alerts
        ]
    else:
        report.alerts = deliver(alerts, sinks, context, deadline, log)
    report.api_calls = {
        "requests": client.stats.requests,
        "retries": client.stats.retries,
        "failures": client.stats.failures,
    }
    report.duration_ms = (time.monotonic() - started) * 1000
    memory.keep(report, now, settings.reports_kept, log)
    return report


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


# -- entry point --------------------------------------------------------------------------------------------


def _reconcile(
    settings: MonitorSettings,
    invocation: Invocation,
    overrides: Overrides,
    trusted: bool,
    log: Any,
) -> Response:
    """Reconcile mode: a plan, or (authenticated, not a dry run) the sync of what the targets lack."""
    from functions.job_monitor.reconcile import mode
    from shared.connect import connect

    cid = invocation.correlation_id
    if not settings.rules:
        return Response.error(
            409, "reconcile needs push-sync's rules: set SYNC_RULES or SYNC_RULES_FILE", cid
        )
    problems = [f"repos: {p}" for p in pattern_problems(overrides.repos or [], repos=True)]
    problems += [f"namespaces: {p}" for p in pattern_problems(overrides.namespaces or [], repos=False)]
    if problems:
        raise BadRequest(400, "invalid overrides", problems)
    apply = overrides.apply and not (settings.dry_run or overrides.dry_run)
    if apply and not (trusted and authenticated(settings, invocation)):
        return Response.error(
            403, "apply needs an authenticated run (a timer, or the MONITOR_TOKEN bearer)", cid
        )
    client = connect(settings, invocation.remaining_ms(), invocation.context)
    answer = mode.run(
        settings, client, durable.region_clients(settings, client), overrides, apply, client.deadline, log
    )
    return Response.json(200, answer)


def handle(settings: MonitorSettings, invocation: Invocation) -> Response:
    from shared.connect import connect

    log = logs.get_logger()
    req = invocation.request
    trusted = True
    if invocation.trigger == "http":
        if req.method in ("GET", "HEAD"):
            from functions.job_monitor.health.http import answer

            return answer(settings, invocation, log)
        if req.method != "POST":
            return Response.method_not_allowed(
                "GET, HEAD, POST", "use POST to run, GET for the health page", invocation.correlation_id
            )
        if settings.monitor_token and not bearer_matches(invocation.request, settings.monitor_token):
            log.warning("manual call refused: missing or wrong bearer token")
            return Response.error(401, "missing or wrong bearer token", invocation.correlation_id)
        if len(req.body) > MAX_BODY_BYTES:
            log.warning("manual call refused: body too large", size=len(req.body), limit=MAX_BODY_BYTES)
            return Response.error(413, f"body larger than {MAX_BODY_BYTES} bytes", invocation.correlation_id)
    elif invocation.platform == "openfaas" and settings.monitor_token:
        # X-Connector can be sent by anyone who reaches the gateway: run with defaults, answer counts only.
        trusted = bearer_matches(invocation.request, settings.monitor_token)
    try:
        overrides, warnings = parse_overrides(invocation, log)
        if overrides.mode == "reconcile":  # its scope is the rules' (or the overrides'), not MONITOR_*
            return _reconcile(settings, invocation, overrides, trusted, log)
        opts = options(settings, overrides, f"{invocation.platform}:{invocation.trigger}", warnings)
    except BadRequest as err:
        log.error("run refused", error=str(err), problems=err.problems)
        return Response.error(err.status, str(err), invocation.correlation_id, problems=err.problems)
    now = datetime.now(timezone.utc)
    gate_side_effects(settings, invocation, opts, now)
    for warning in opts.warnings:
        log.warning(warning)
    client = connect(settings, invocation.remaining_ms(), invocation.context)
    sinks = build_sinks(settings, invocation.context)
    context = {
        "function": invocation.function_name or FUNCTION,
        "correlation_id": invocation.correlation_id,
        "time": iso(now),
    }
    proof = durable.proof_context(settings, client, log)
    report = run_monitor(settings, client, opts, now, sinks, context, log, proof=proof).to_dict()
    log.info("job-monitor report", **report)
    status = 503 if report["status"] == "swr_unavailable" else 200
    return Response.json(status, report if trusted else public_view(report))
