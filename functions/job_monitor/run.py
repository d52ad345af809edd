"""job-monitor's run: scope → read → classify → re-sync → alert → report. ``run_monitor`` takes its collaborators
as arguments so tests can drive it directly."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from functions.job_monitor import durable
from functions.job_monitor.alerts import compose, recovery_alert, swr_alert
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
from functions.job_monitor.evidence import ProofContext, cap_alerts
from functions.job_monitor.proof import Settler
from functions.job_monitor.reader import scan
from functions.job_monitor.report import Report, iso
from functions.job_monitor.resync import DRY_RUN, ERROR, ISSUED, SKIPPED, resync
from functions.job_monitor.scope import resolve
from functions.job_monitor.settings import MonitorSettings
from functions.job_monitor.sinks import SmnSink, WebhookSink, deliver, payload
from functions.job_monitor.trigger import RunOptions
from shared.swr.client import SwrClient
from shared.swr.http import Deadline
from shared.swr.paging import PageBudget

_ACTIONS = frozenset({ISSUED, ERROR, DRY_RUN, SKIPPED})


def build_sinks(settings: MonitorSettings, context: Any = None) -> list[Any]:
    """The configured alert destinations; ``context`` is the platform context (agency credentials for SMN)."""
    sinks: list[Any] = []
    if settings.alert_webhook_url:
        sinks.append(WebhookSink(settings.alert_webhook_url, settings.alert_format, settings.alert_timeout))
    if settings.smn_topic_urn:
        from shared.runtime.connect import choose_auth

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
    policy = _policy(settings, opts, now)
    report = _new_report(settings, opts, now, sinks)
    scan_deadline = scan_deadline or scan_budget(settings, deadline)
    total, result = _read(settings, client, opts, scan_deadline, now, report, log)

    all_jobs = [job for r in result.read for job in r.jobs]
    report.jobs_by_status = status_counts(all_jobs, policy.lookback_start)
    report.lag = lag_stats(all_jobs, policy.lookback_start)
    histories = [(r.repo.namespace, r.repo.repository, r.jobs, r.complete) for r in result.read]
    states = [s for s in classify(histories, policy) if s.relevant]
    report.states = states

    memory = durable.RunMemory(proof, opts.dry_run)  # #18: durable alert and re-sync memory
    to_resync = memory.claim_resyncs(states, settings.period_seconds)
    resynced = resync(client, to_resync, policy, settings.concurrency, opts.dry_run, deadline)
    report.resync_groups = resynced.groups
    for group in resynced.groups:
        log.info("re-sync", **group)

    notes = _resync_notes(settings, report, states, resynced)

    # Systemic causes first: one summary instead of a flood.
    report.systemic = systemic_groups(states, settings.alert_systemic_threshold)
    swr_alert_obj = _swr_problem(settings, opts, report, resynced, memory, now, total)

    due = [s for s in states if is_due(s, policy) and not resynced.remediating(s.key)]
    remember = max(settings.horizon, settings.alert_repeat_seconds)
    due = memory.due(states, due, resynced.remediating, now, remember)
    proof_alerts = _prove(settings, client, opts, now, proof, memory, report, result, resynced, log)
    due_keys = {s.key for s in due}
    _log_decisions(states, due_keys, resynced.outcome, opts.alert, log)
    alerts = (
        compose(due, report.systemic, notes, settings.alert_max_messages, swr_alert_obj) if opts.alert else []
    )
    if opts.alert:
        alerts += cap_alerts(proof_alerts, settings.alert_max_messages - len(alerts))
    for s in due:
        report.key_notes.setdefault(s.key, {})["alerted" if not opts.dry_run else "would_alert"] = opts.alert
    report.alerts = _send(settings, opts, alerts, sinks, context, deadline, log)
    report.api_calls = {
        "requests": client.stats.requests,
        "retries": client.stats.retries,
        "failures": client.stats.failures,
    }
    report.duration_ms = (time.monotonic() - started) * 1000
    memory.keep(report, now, settings.reports_kept, log)
    return report


def _resync_notes(
    settings: MonitorSettings, report: Report, states: list[Any], resynced: Any
) -> dict[Key, str]:
    """What the re-sync did for each recent failure (the alert's note); the outcome also goes in the report."""
    notes: dict[Key, str] = {}
    for s in states:
        if s.category == FAILED and s.recent:
            notes[s.key] = _resync_note(resynced.outcome.get(s.key), s.attempts_used, settings.max_resync)
        report.key_notes[s.key] = {"resync": resynced.outcome.get(s.key)} if s.key in resynced.outcome else {}
    return notes


def _send(
    settings: MonitorSettings,
    opts: RunOptions,
    alerts: list[Any],
    sinks: list[Any],
    context: dict[str, Any],
    deadline: Deadline,
    log: Any,
) -> list[dict[str, Any]]:
    """The alerts delivered to every sink; in a dry run, what would be sent (no delivery)."""
    if opts.dry_run:
        return [
            {
                **a.summary(),
                "deliveries": [],
                "dry_run": True,
                "payload": payload(a, settings.alert_format, context),
            }
            for a in alerts
        ]
    return deliver(alerts, sinks, context, deadline, log)


def _policy(settings: MonitorSettings, opts: RunOptions, now: datetime) -> Policy:
    return Policy(
        now=now,
        lookback_start=now - timedelta(seconds=settings.lookback),
        period=settings.period_seconds,
        settle=settings.settle_seconds,
        stuck_after=settings.stuck_after_seconds,
        resync=opts.resync,
        max_resync=settings.max_resync,
    )


def _new_report(settings: MonitorSettings, opts: RunOptions, now: datetime, sinks: list[Any]) -> Report:
    window = {
        "lookback_seconds": settings.lookback,
        "lookback_start": iso(now - timedelta(seconds=settings.lookback)),
        "horizon_seconds": settings.horizon,
        "horizon_start": iso(now - timedelta(seconds=settings.horizon)),
        "period_seconds": settings.period_seconds,
        "settle_seconds": settings.settle_seconds,
        "stuck_after_seconds": settings.stuck_after_seconds,
    }
    report = Report(now, opts.trigger, opts.dry_run, window, warnings=list(opts.warnings))
    report.resync_enabled, report.max_resync = opts.resync, settings.max_resync
    report.alerting_configured = bool(sinks)
    return report


def _read(
    settings: MonitorSettings,
    client: SwrClient,
    opts: RunOptions,
    scan_deadline: Deadline,
    now: datetime,
    report: Report,
    log: Any,
) -> tuple[int, Any]:
    """The job histories since the horizon of the repositories in scope (gaps noted in the report), and how many
    repositories the scope named (read or not)."""
    budget = PageBudget(settings.max_scan_pages)
    repos, scope_gaps = resolve(
        client, opts.repos, opts.namespaces, settings.concurrency, scan_deadline, settings.max_pages, budget
    )
    result = scan(
        client,
        repos,
        now - timedelta(seconds=settings.horizon),
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
    return len(repos) + len(scope_gaps), result


def _prove(
    settings: MonitorSettings,
    client: SwrClient,
    opts: RunOptions,
    now: datetime,
    proof: ProofContext | None,
    memory: durable.RunMemory,
    report: Report,
    result: Any,
    resynced: Any,
    log: Any,
) -> list[Any]:
    """Recoveries, and push-sync's intents settled (functions/job_monitor/proof.py): their alerts."""
    proof_alerts: list[Any] = [recovery_alert(s) for s in memory.recoveries]
    proven = None
    if proof is not None:
        jobs_by_repo = {(r.repo.namespace, r.repo.repository): r.jobs for r in result.read}
        classic = memory.classic(report.states, resynced.outcome)
        settler = Settler(proof, client, jobs_by_repo, now, settings, opts.resync, opts.dry_run, classic, log)
        proven, intent_alerts = settler.run()
        proof_alerts += intent_alerts
        report.replication = proven.to_dict()
    report.state = memory.info(proven.degraded if proven is not None else "")
    return proof_alerts


def _swr_problem(
    settings: MonitorSettings,
    opts: RunOptions,
    report: Report,
    resynced: Any,
    memory: durable.RunMemory,
    now: datetime,
    total: int,
) -> Any:
    """SWR itself refusing us or out of reach (systemic): noted in the report; its alert, or None."""
    for cause, reason in (("swr_auth", "auth"), ("swr_unreachable", "unreachable")):
        hit = [g for g in report.gaps if g.reason == reason]
        count = len(hit) + (resynced.auth_errors if reason == "auth" else 0)
        if count and (count >= settings.alert_systemic_threshold or len(hit) == total):
            refused = resynced.auth_errors if reason == "auth" else 0
            report.swr_problem = {"cause": cause, "repositories": len(hit), "total": total}
            if refused:
                report.swr_problem["resync_refused"] = refused
            if opts.alert and (opts.dry_run or memory.allow_cause(cause, now, settings.alert_repeat_seconds)):
                return swr_alert(cause, len(hit), total, refused, hit[0].detail if hit else "")
            return None
    return None


def _log_decisions(
    states: list[Any], due_keys: set[Key], outcomes: dict[Key, str], alert: bool, log: Any
) -> None:
    for s in states:
        # One line per decision taken in this run (keys merely still failing are in the report line only).
        outcome = outcomes.get(s.key)
        if s.key in due_keys or outcome in _ACTIONS:
            log.info(
                "key decision",
                key=s.key.label,
                category=s.category,
                job_id=s.latest.id,
                status=s.latest.status.value,
                resync=outcome,
                alert=s.key in due_keys and alert,
            )
