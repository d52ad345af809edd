"""Configuration of policy-export (environment variables; see docs/policy-export.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, model_validator

from shared.runtime.config import SwrSettings
from shared.runtime.credentials import BEARER_TOKEN_MIN_LEN
from shared.swr.errors import ConfigError

MAX_BYTES_MIN = 4096
MAX_BYTES_MAX = 6_000_000  # FunctionGraph's synchronous response limit (6 MB)


class ExportSettings(SwrSettings):
    """What both the function and the CLI need."""

    concurrency: int = Field(default=16, ge=1, le=64, alias="EXPORT_CONCURRENCY")
    max_bytes: int = Field(default=4_000_000, ge=MAX_BYTES_MIN, le=MAX_BYTES_MAX, alias="EXPORT_MAX_BYTES")
    repo_page_size: int = Field(default=100, ge=1, le=1000, alias="EXPORT_REPO_PAGE_SIZE")
    # SYNC_RULES (JSON) / SYNC_RULES_FILE (path), exactly as push-sync reads them; only for compare=rules.
    sync_rules: str | None = Field(default=None, alias="SYNC_RULES")
    sync_rules_file: str | None = Field(default=None, alias="SYNC_RULES_FILE")

    @model_validator(mode="after")
    def _export_coherent(self) -> ExportSettings:
        problems = self.export_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def export_problems(self) -> list[str]:
        if not self.rules_configured:
            return []
        from functions.policy_export.rulesource import rules_for

        try:
            rules_for(self)  # parsed once per (text, path); the function refuses to start on bad rules
        except ConfigError as err:
            return list(err.problems)
        return []

    @property
    def rules_configured(self) -> bool:
        return bool(self.sync_rules or self.sync_rules_file)

    def source_region(self) -> str:
        """The region exported from: SWR_REGION, else the host of SWR_ENDPOINT."""
        return self.swr_region or urlsplit(self.endpoint()).netloc


class FunctionSettings(ExportSettings):
    """The HTTP function: a bearer token is required unless explicitly waived."""

    model_config = ConfigDict(defer_build=False)  # the function's own settings: built at import

    export_token: str | None = Field(default=None, alias="EXPORT_TOKEN", repr=False)
    allow_unauthenticated: bool = Field(default=False, alias="EXPORT_ALLOW_UNAUTHENTICATED")

    def export_problems(self) -> list[str]:
        problems = super().export_problems()
        if self.export_token is None and not self.allow_unauthenticated:
            problems.append(
                "EXPORT_TOKEN: required (the bearer token callers must present); set "
                "EXPORT_ALLOW_UNAUTHENTICATED=true only behind a gateway that authenticates callers"
            )
        if self.export_token is not None and len(self.export_token) < BEARER_TOKEN_MIN_LEN:
            problems.append(f"EXPORT_TOKEN: must be at least {BEARER_TOKEN_MIN_LEN} characters")
        return problems
