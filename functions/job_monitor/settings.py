"""Configuration of job-monitor (environment variables; every one is documented in docs/job-monitor.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from shared.lazyre import lazy
from shared.rules import RuleSet, load_rules, split_patterns
from shared.runtime.config import SwrSettings
from shared.runtime.credentials import BEARER_TOKEN_MIN_LEN
from shared.state.config import redis_url_problems
from shared.swr.endpoints import valid_region
from shared.swr.errors import ConfigError
from shared.swr.secreturl import url_problems

AlertFormat = Literal["generic", "slack", "feishu", "dingtalk", "wecom"]
ALERT_FORMATS: tuple[str, ...] = ("generic", "slack", "feishu", "dingtalk", "wecom")
# urn:smn:{region}:{project_id}:{topic_name}
SMN_URN_RE = lazy(r"urn:smn:([a-z0-9-]{2,64}):([0-9a-zA-Z]{1,64}):([A-Za-z0-9][A-Za-z0-9_-]{0,255})")


def split_list(text: str | None) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]`` (order kept, duplicates dropped).

    Commas inside ``{...}`` (glob alternatives, regex repetition counts) do not split.
    """
    if not text:
        return []
    return list(dict.fromkeys(part for part in split_patterns(text) if part))


class MonitorSettings(SwrSettings):
    """SWR access (inherited) plus what the monitor reads, decides and where it alerts."""

    model_config = ConfigDict(defer_build=False)  # the function's own settings: built at import

    # -- scope and reading --
    monitor_repos: str | None = Field(default=None, alias="MONITOR_REPOS")
    monitor_namespaces: str | None = Field(default=None, alias="MONITOR_NAMESPACES")
    concurrency: int = Field(default=8, ge=1, le=64, alias="MONITOR_CONCURRENCY")
    page_size: int = Field(default=50, ge=1, le=1000, alias="MONITOR_PAGE_SIZE")
    max_pages: int = Field(default=200, ge=1, le=100_000, alias="MONITOR_MAX_PAGES")
    # Pages a whole run may read (repository listings and job histories together): a listing that never
    # ends, in any number of repositories, cannot hold the run past it.
    max_scan_pages: int = Field(default=5_000, ge=1, le=10_000_000, alias="MONITOR_MAX_SCAN_PAGES")
    # -- time windows --
    period_seconds: int = Field(default=300, ge=1, le=7 * 86400, alias="MONITOR_PERIOD_SECONDS")
    settle_seconds: int = Field(default=300, ge=0, le=7 * 86400, alias="MONITOR_SETTLE_SECONDS")
    lookback_seconds: int | None = Field(default=None, ge=1, le=30 * 86400, alias="MONITOR_LOOKBACK_SECONDS")
    stuck_after_seconds: int = Field(default=1800, ge=1, le=30 * 86400, alias="STUCK_AFTER_SECONDS")
    # -- remediation --
    resync: bool = Field(default=True, alias="MONITOR_RESYNC")
    max_resync: int = Field(default=2, ge=0, le=20, alias="MONITOR_MAX_RESYNC")
    dry_run: bool = Field(default=False, alias="MONITOR_DRY_RUN")
    # -- manual HTTP calls --
    monitor_token: str | None = Field(default=None, alias="MONITOR_TOKEN", repr=False)
    # -- alerts --
    alert_webhook_url: str | None = Field(default=None, alias="ALERT_WEBHOOK_URL", repr=False)
    alert_format: AlertFormat = Field(default="generic", alias="ALERT_FORMAT")
    alert_systemic_threshold: int = Field(default=5, ge=1, le=100_000, alias="ALERT_SYSTEMIC_THRESHOLD")
    alert_timeout: float = Field(default=5.0, gt=0, le=60, alias="ALERT_TIMEOUT_SECONDS")
    alert_max_messages: int = Field(default=10, ge=1, le=1000, alias="ALERT_MAX_MESSAGES")
    alert_repeat_seconds: int = Field(default=3600, ge=0, le=7 * 86400, alias="ALERT_REPEAT_SECONDS")
    smn_topic_urn: str | None = Field(default=None, alias="SMN_TOPIC_URN")
    smn_endpoint: str | None = Field(default=None, alias="SMN_ENDPOINT")
    runtime_project_id: str | None = Field(default=None, alias="RUNTIME_PROJECT_ID")
    # -- durable state and proof of replication (functions/job_monitor/proof.py) --
    state_redis_url: str | None = Field(default=None, alias="STATE_REDIS_URL", repr=False)
    endpoint_template: str | None = Field(default=None, alias="SWR_ENDPOINT_TEMPLATE")
    verify_after_seconds: int = Field(default=900, ge=0, le=7 * 86400, alias="VERIFY_AFTER")
    max_intents: int = Field(default=500, ge=1, le=100_000, alias="MONITOR_MAX_INTENTS")
    reports_kept: int = Field(default=50, ge=1, le=10_000, alias="MONITOR_REPORTS_KEPT")
    # -- reconcile mode: push-sync's rules, exactly as push-sync reads them (optional otherwise) --
    sync_rules: str | None = Field(default=None, alias="SYNC_RULES")
    sync_rules_file: str | None = Field(default=None, alias="SYNC_RULES_FILE")
    reconcile_max_calls: int = Field(default=200, ge=1, le=100_000, alias="RECONCILE_MAX_CALLS")
    # -- the health page (GET) --
    health_link_secret: str | None = Field(default=None, alias="HEALTH_LINK_SECRET", repr=False)
    health_link_ttl: int = Field(default=3600, ge=60, le=7 * 86400, alias="HEALTH_LINK_TTL_SECONDS")
    health_max_cells: int = Field(default=10_000, ge=1, le=100_000, alias="HEALTH_MAX_CELLS")

    _rules: RuleSet = PrivateAttr(default_factory=RuleSet)

    @field_validator("alert_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _monitor_coherent(self) -> MonitorSettings:
        problems = self.monitor_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def monitor_problems(self) -> list[str]:
        from functions.job_monitor.scope import pattern_problems

        problems: list[str] = []
        problems += [f"MONITOR_REPOS: {p}" for p in pattern_problems(self.repo_patterns, repos=True)]
        problems += [
            f"MONITOR_NAMESPACES: {p}" for p in pattern_problems(self.namespace_patterns, repos=False)
        ]
        if self.lookback_seconds is not None and self.lookback_seconds < self.period_seconds:
            problems.append(
                "MONITOR_LOOKBACK_SECONDS: must be at least MONITOR_PERIOD_SECONDS "
                "(jobs created between two runs would never be read)"
            )
        if self.monitor_token is not None and len(self.monitor_token) < BEARER_TOKEN_MIN_LEN:
            problems.append(f"MONITOR_TOKEN: must be at least {BEARER_TOKEN_MIN_LEN} characters")
        if self.alert_webhook_url is not None:
            problems += url_problems(
                "ALERT_WEBHOOK_URL", self.alert_webhook_url, ("http", "https"), userinfo=False
            )
        if self.smn_endpoint and not self.smn_endpoint.startswith(("http://", "https://")):
            problems.append("SMN_ENDPOINT: must be an http(s) URL")
        if self.smn_topic_urn is not None:
            if not SMN_URN_RE.fullmatch(self.smn_topic_urn):
                problems.append("SMN_TOPIC_URN: expected urn:smn:<region>:<project_id>:<topic_name>")
            elif not self.smn_endpoint and not valid_region(self.smn_region()):
                problems.append("SMN_ENDPOINT: required (no region to derive it from)")
        problems += redis_url_problems({"STATE_REDIS_URL": self.state_redis_url})
        try:
            self._rules = load_rules(
                {"SYNC_RULES": self.sync_rules, "SYNC_RULES_FILE": self.sync_rules_file}.get, required=False
            )
        except ConfigError as err:
            problems += err.problems
        if self.endpoint_template is not None and (
            "{region}" not in self.endpoint_template
            or not self.endpoint_template.startswith(("http://", "https://"))
        ):
            problems.append("SWR_ENDPOINT_TEMPLATE: must be an http(s) URL with a {region} placeholder")
        # Problems are joined with "; " (and split on it again by load_settings): keep each one whole.
        return [p.replace("; ", ", ") for p in problems]

    # -- derived values -------------------------------------------------------------------------------------

    @property
    def rules(self) -> RuleSet:
        """push-sync's rules (empty when SYNC_RULES is not set): what reconcile brings the targets up to."""
        return self._rules

    @property
    def repo_patterns(self) -> list[str]:
        return split_list(self.monitor_repos)

    @property
    def namespace_patterns(self) -> list[str]:
        return split_list(self.monitor_namespaces)

    @property
    def lookback(self) -> int:
        """Seconds of the look-back window: MONITOR_LOOKBACK_SECONDS, else 2 x period + settle."""
        if self.lookback_seconds is not None:
            return self.lookback_seconds
        return 2 * self.period_seconds + self.settle_seconds

    @property
    def horizon(self) -> int:
        """Seconds of history read per repository (>= look-back).

        Enough to see a whole re-sync streak (the look-back plus one period per allowed re-sync and one more)
        and a waiting/running job for a period and a settle time after it crossed STUCK_AFTER_SECONDS.
        """
        resync_span = self.lookback + (self.max_resync + 1) * self.period_seconds
        stuck_span = self.stuck_after_seconds + self.period_seconds + self.settle_seconds
        return max(self.lookback, resync_span, stuck_span)

    def smn_region(self) -> str:
        match = SMN_URN_RE.fullmatch(self.smn_topic_urn or "")
        return (match.group(1) if match else "") or (self.swr_region or "")

    def smn_base(self) -> str:
        if self.smn_endpoint:
            return self.smn_endpoint.rstrip("/")
        return f"https://smn.{self.smn_region()}.myhuaweicloud.com"

    def smn_project_id(self) -> str:
        """CLOUD_SDK_PROJECT_ID, else RUNTIME_PROJECT_ID (set by FunctionGraph), else the topic URN's."""
        match = SMN_URN_RE.fullmatch(self.smn_topic_urn or "")
        return self.project_id or self.runtime_project_id or (match.group(2) if match else "")

    def region_endpoint(self, region: str) -> str:
        """The SWR endpoint of another region (raises ValueError when it cannot be derived)."""
        from shared.swr.endpoints import region_endpoint

        return region_endpoint(region, self.endpoint_template, self.swr_endpoint, self.swr_region)

    @property
    def alerting_configured(self) -> bool:
        return bool(self.alert_webhook_url or self.smn_topic_urn)
