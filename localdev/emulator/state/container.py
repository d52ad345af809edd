"""The emulator's in-memory model, composed of one mixin per resource. Pure Python, no HTTP.

Every public method takes the state lock, so tests may call it while the server runs. Where each resource lives:
``repositories.py`` (namespaces, repositories, tags), ``jobs.py`` (sync jobs and their lifecycle),
``policies.py`` (auto-sync policies and the push that triggers them), ``accounts.py`` (IAM users, tokens,
AK/SK), ``fault_injection.py`` (request and job faults), ``webhook_targets.py``, ``logs.py`` (requests and
deliveries), ``persistence.py`` (snapshot and state file), ``core.py`` (lock, clock, counters, save on change).
"""

from __future__ import annotations

import os

from .common import DEFAULT_REGIONS, Clock
from .persistence import PersistenceMixin


class EmulatorState(PersistenceMixin):
    """Everything the emulator knows. Thread-safe; see ``jobs.py`` for job timing."""

    def __init__(
        self,
        regions: tuple[str, ...] | list[str] = DEFAULT_REGIONS,
        default_region: str | None = None,
        clock: Clock | None = None,
        waiting_seconds: float = 1.0,
        running_seconds: float = 2.0,
        users: dict[str, tuple[str, str]] | None = None,
        static_tokens: tuple[str, ...] | list[str] = (),
        aksk: dict[str, str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(regions, default_region, clock, waiting_seconds, running_seconds, state_file)
        self._init_accounts(users, static_tokens, aksk)
        self._clear()
        if self.state_file is not None and self.state_file.exists():
            self.load(self.state_file)

    def _clear(self) -> None:
        self._reset_repositories()
        self._reset_jobs()
        self._reset_policies()
        self._reset_webhooks()
        self._reset_faults()
        self._reset_logs()
        self._counters = {
            "job": 0,
            "sync_repo": 0,
            "namespace": 1000,
            "webhook": 0,
            "request": 0,
            "fault": 0,
        }

    def reset(self) -> None:
        """Forget all data, jobs, policies, webhooks, faults and logs. Issued tokens and configuration stay."""
        with self.mutating():
            self._clear()
