"""job-monitor's handler: the HTTP answer (the health page on GET, a run or a reconcile on POST or a timer).
The trigger (overrides, options, who may cause side effects) is in :mod:`functions.job_monitor.trigger`, the run
in :mod:`functions.job_monitor.run`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel

from functions.job_monitor import durable
from functions.job_monitor.report import iso, public_view
from functions.job_monitor.run import build_sinks, run_monitor
from functions.job_monitor.scope import pattern_problems
from functions.job_monitor.settings import MonitorSettings
from functions.job_monitor.trigger import (
    BadRequest,
    Overrides,
    authenticated,
    gate_side_effects,
    options,
    parse_overrides,
)
from shared.logs import logs
from shared.runtime.connect import connect
from shared.runtime.credentials import bearer_matches
from shared.runtime.model import Invocation, Response

FUNCTION = "job-monitor"
# What every run validates (its trigger's overrides, the report it stores): built at import by the entry point,
# not by the first run (#22).
EVERY_RUN_MODELS: tuple[type[BaseModel], ...] = (Overrides, durable.RunReport)
MAX_BODY_BYTES = 64 * 1024  # a manual call's body holds a few overrides; anything larger is refused unread


def _reconcile(
    settings: MonitorSettings,
    invocation: Invocation,
    overrides: Overrides,
    trusted: bool,
    log: Any,
) -> Response:
    """Reconcile mode: a plan, or (authenticated, not a dry run) the sync of what the targets lack."""
    from functions.job_monitor.reconcile import mode

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
