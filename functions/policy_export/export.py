"""The export pipeline shared by the HTTP function and the CLI: scope → concurrent fetch → filter/sort → drift."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from functions.policy_export.drift import DriftReport, compute_drift
from functions.policy_export.fetch import Progress, fetch_policies
from functions.policy_export.model import ExportResult, FetchStats, RepoRef
from functions.policy_export.params import ExportQuery
from functions.policy_export.scope import resolve
from shared.logs.logs import get_logger
from shared.rules import RuleSet
from shared.swr.client import SwrClient


def run_export(
    client: SwrClient,
    query: ExportQuery,
    concurrency: int = 16,
    repo_page_size: int = 100,
    progress: Progress | None = None,
) -> ExportResult:
    """Everything in scope. Raises :class:`~functions.policy_export.scope.ScopeError` if a namespace cannot be
    listed; a repository whose policies cannot be listed is an entry of ``errors`` instead."""
    log = get_logger()
    started = time.monotonic()
    before = client.stats.snapshot()
    scope = resolve(client, query, repo_page_size)
    outcome = fetch_policies(client, scope.repositories, concurrency, progress)
    regions = set(query.remote_regions)
    policies = [p for p in outcome.policies if not regions or p.remote_region_id in regions]
    policies.sort(key=lambda p: p.sort_key)
    errors = sorted(outcome.errors, key=lambda e: e.sort_key)
    calls = client.stats.since(before)  # scope listing and policy fetch alike
    stats = FetchStats(
        repositories=len(scope.repositories),
        requests=calls.requests,
        retries=calls.retries,
        failures=calls.failures,
        max_in_flight=outcome.max_in_flight,
        duration_ms=round((time.monotonic() - started) * 1000, 2),
    )
    result = ExportResult(query.namespaces, scope.repositories, policies, errors, stats)
    log.info(
        "policies fetched",
        namespaces=list(query.namespaces),
        repositories=stats.repositories,
        policies=len(policies),
        errors=len(errors),
        requests=stats.requests,
        retries=stats.retries,
        max_in_flight=stats.max_in_flight,
        duration_ms=stats.duration_ms,
    )
    return result


def drift_against(result: ExportResult, rules: RuleSet, query: ExportQuery) -> DriftReport:
    skip = {RepoRef(e.namespace, e.repository) for e in result.errors}
    report = compute_drift(
        result.repositories, result.policies, rules.desired_targets, query.remote_regions, skip
    )
    get_logger().info("drift computed", **report.summary())
    return report


def build_meta(
    query: ExportQuery, result: ExportResult, source_region: str, generated_at: datetime
) -> dict[str, Any]:
    """The metadata every page (and the CLI's single page) carries; see render.py for where it goes."""
    return {
        "generated_at": generated_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "source_region": source_region,
        "query": query.canonical(),
        "total": len(result.policies),
        "content_hash": result.content_hash,
        "coverage_complete": result.coverage_complete,
        "error_count": len(result.errors),
    }
