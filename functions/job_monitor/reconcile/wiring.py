"""What reconcile needs from configuration: the rules, a client per region, the repositories the rules select."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from functions.job_monitor.reconcile.run import Repo
from functions.job_monitor.settings import MonitorSettings
from shared.rules import RuleSet

if TYPE_CHECKING:
    from shared.swr.client import SwrClient


# The terminal command reads job-monitor's configuration: the same rules, endpoints and state store.
ReconcileSettings = MonitorSettings


def clients(
    settings: MonitorSettings, remaining_ms: float | None
) -> tuple[SwrClient, Callable[[str], SwrClient]]:
    """The source region's client, and the monitor's per-region clients on it (same credentials, deadline)."""
    from functions.job_monitor.durable import region_clients
    from shared.runtime.connect import connect

    source = connect(settings, remaining_ms)
    return source, region_clients(settings, source)


def select_repos(client: SwrClient, rules: RuleSet, namespaces: Sequence[str] = ()) -> list[Repo]:
    """Every repository some rule covers, in the given namespaces or in every namespace a rule can match."""
    names = list(namespaces) or [
        n.name for n in client.list_namespaces() if any(r.namespace.matches(n.name) for r in rules.rules)
    ]
    found: list[Repo] = []
    for namespace in sorted(set(names)):
        for repo in client.iter_repos(namespace):
            if any(rule.covers(namespace, repo.name) for rule in rules.rules):
                found.append(Repo(namespace, repo.name))
    return found
