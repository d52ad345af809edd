"""push-sync configuration (environment variables; see docs/push-sync.md for the table)."""

from __future__ import annotations

import re

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from shared.rules import RuleSet, load_rules
from shared.runtime.config import SwrSettings
from shared.state.config import redis_url_problems
from shared.swr.errors import ConfigError

MIB = 1024 * 1024
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")


class PushSyncSettings(SwrSettings):
    model_config = ConfigDict(defer_build=False)  # the function's own settings: built at import
    sync_rules: str | None = Field(default=None, alias="SYNC_RULES")
    sync_rules_file: str | None = Field(default=None, alias="SYNC_RULES_FILE")
    sync_concurrency: int = Field(default=8, ge=1, le=64, alias="SYNC_CONCURRENCY")
    sync_max_tags_per_call: int = Field(default=100, ge=1, le=1000, alias="SYNC_MAX_TAGS_PER_CALL")
    webhook_secret: str | None = Field(default=None, alias="WEBHOOK_SECRET", repr=False)
    webhook_signature_header: str = Field(default="X-Signature-256", alias="WEBHOOK_SIGNATURE_HEADER")
    webhook_allow_unauthenticated: bool = Field(default=False, alias="WEBHOOK_ALLOW_UNAUTHENTICATED")
    max_body_bytes: int = Field(default=MIB, ge=1024, le=64 * MIB, alias="MAX_BODY_BYTES")
    dry_run: bool = Field(default=False, alias="DRY_RUN")
    idempotency_window_seconds: int = Field(
        default=600, ge=0, le=7 * 86400, alias="IDEMPOTENCY_WINDOW_SECONDS"
    )
    idempotency_max_entries: int = Field(default=10_000, ge=1, le=1_000_000, alias="IDEMPOTENCY_MAX_ENTRIES")
    state_redis_url: str | None = Field(default=None, alias="STATE_REDIS_URL", repr=False)
    # Deprecated name of STATE_REDIS_URL (read when STATE_REDIS_URL is unset; see shared/state).
    idempotency_redis_url: str | None = Field(default=None, alias="IDEMPOTENCY_REDIS_URL", repr=False)
    idempotency_wait_seconds: float = Field(default=2.0, ge=0, le=60, alias="IDEMPOTENCY_WAIT_SECONDS")
    retry_after_seconds: int = Field(default=30, ge=1, le=3600, alias="RETRY_AFTER_SECONDS")

    _rules: RuleSet = PrivateAttr(default_factory=RuleSet)

    @property
    def rules(self) -> RuleSet:
        return self._rules

    @property
    def redis_url(self) -> str | None:
        """STATE_REDIS_URL, else the deprecated IDEMPOTENCY_REDIS_URL."""
        return self.state_redis_url or self.idempotency_redis_url

    @model_validator(mode="after")
    def _push_sync(self) -> PushSyncSettings:
        problems: list[str] = []
        values = {"SYNC_RULES": self.sync_rules, "SYNC_RULES_FILE": self.sync_rules_file}
        try:
            self._rules = load_rules(values.get)
            if not self._rules:
                problems.append("SYNC_RULES: no rules: nothing would ever be synced")
        except ConfigError as err:
            problems.extend(err.problems)
        if not self.webhook_secret and not self.webhook_allow_unauthenticated:
            problems.append(
                "WEBHOOK_SECRET: required (or set WEBHOOK_ALLOW_UNAUTHENTICATED=true to accept "
                "unauthenticated webhooks)"
            )
        if not _HEADER_NAME.fullmatch(self.webhook_signature_header):
            problems.append("WEBHOOK_SIGNATURE_HEADER: not a valid HTTP header name")
        problems += redis_url_problems(
            {"STATE_REDIS_URL": self.state_redis_url, "IDEMPOTENCY_REDIS_URL": self.idempotency_redis_url}
        )
        if problems:
            raise ValueError("; ".join(p.replace("; ", ", ") for p in problems))
        return self
