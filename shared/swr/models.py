"""Pydantic v2 models of what SWR sends and receives.

Responses are tolerant (extra fields ignored, optional fields default) because live SWR may add fields;
requests are strict (extra fields forbidden, names validated) because SWR rejects what it does not know.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from shared.lazyre import lazy
from shared.logs.redact import clip
from shared.record import record
from shared.swr import timeutil
from shared.swr.names import validate_namespace

# Every time a server sends: aware UTC (a zone-less value is UTC), clamped at the calendar's ends, and None
# when it cannot be read: one bad date must not refuse the whole page it is on (see shared.swr.timeutil).
EdgeTime = Annotated[datetime | None, BeforeValidator(timeutil.parse)]


# defer_build: a model's validator is built on first use instead of at import, so a cold start pays only
# for the models its path uses.
class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class SyncStatus(str, Enum):
    """The seven documented states of an image sync job."""

    WAITING = "waiting"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCEL = "cancel"
    EXISTED = "existed"
    # Not one of SWR's seven: a status live SWR sends that the docs do not list. Reading stays tolerant (the
    # raw value is kept in ``SyncJob.status_raw``); the monitor treats it as in progress, so it ends up stuck,
    # never silently ok.
    UNKNOWN = "unknown"

    @classmethod
    def documented(cls) -> list[SyncStatus]:
        return [s for s in cls if s is not cls.UNKNOWN]

    @property
    def is_final(self) -> bool:
        return self not in (SyncStatus.WAITING, SyncStatus.RUNNING, SyncStatus.UNKNOWN)

    @property
    def is_ok(self) -> bool:
        return self in (SyncStatus.SUCCESS, SyncStatus.EXISTED)


class SyncImagesRequest(RequestModel):
    """Body of ``POST .../sync_images``."""

    image_tag: list[str] = Field(alias="imageTag", min_length=1)
    override: bool = False
    remote_namespace: str = Field(alias="remoteNamespace")
    remote_region_id: str = Field(alias="remoteRegionId", min_length=1, max_length=64)

    @field_validator("image_tag")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if not TAG_RE.fullmatch(tag):
                raise ValueError(f"invalid tag {tag[:130]!r}: must match {TAG_RE.pattern}")
        return tags

    @field_validator("remote_namespace")
    @classmethod
    def _ns(cls, value: str) -> str:
        return validate_namespace(value)

    def wire(self) -> dict[str, object]:
        return self.model_dump(by_alias=True)


# OCI distribution-spec tag grammar.
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


class SyncJob(ResponseModel):
    id: int
    namespace: str = ""
    repo_name: str = Field(default="", alias="repoName")
    tag: str = ""
    remote_namespace: str = Field(default="", alias="remoteNamespace")
    remote_region_id: str = Field(default="", alias="remoteRegionId")
    override: bool = False
    status: SyncStatus
    status_raw: str = ""
    created_at: EdgeTime = Field(default=None, alias="createdAt")
    updated_at: EdgeTime = Field(default=None, alias="updatedAt")
    domain_id: str = Field(default="", alias="domainID")
    domain_name: str = Field(default="", alias="domainName")
    sync_operator_id: str = Field(default="", alias="syncOperatorId")
    sync_operator_name: str = Field(default="", alias="syncOperatorName")

    @model_validator(mode="before")
    @classmethod
    def _tolerate_unknown_status(cls, data: Any) -> Any:
        if isinstance(data, dict) and "status" in data:
            raw = data["status"]
            known = {s.value for s in SyncStatus}
            data = {**data, "status_raw": str(raw)}
            if not (isinstance(raw, str) and raw.lower() in known):
                data["status"] = SyncStatus.UNKNOWN
            else:
                data["status"] = raw.lower()
        return data


class Tag(ResponseModel):
    """An item of ``GET .../repos/{repository}/tags``."""

    tag: str = Field(alias="Tag")
    digest: str = ""
    size: int = 0
    created: EdgeTime = None
    updated: EdgeTime = None


@record(frozen=True)
class ContentRange:
    """``Content-Range: offset-count/total`` as SWR sends it on paged lists.

    SWR's header is ``offset-count`` (not RFC 7233's ``first-last``): the documented meaning is
    "start index - number of records on this page / total".
    """

    offset: int
    count: int
    total: int

    @property
    def next_offset(self) -> int:
        return self.offset + self.count

    @property
    def has_more(self) -> bool:
        return self.count > 0 and self.next_offset < self.total

    @classmethod
    def parse(cls, value: str | None) -> ContentRange | None:
        """Parse the header; None for absent or malformed values (callers then fall back to page length)."""
        if not value:
            return None
        match = _CONTENT_RANGE.fullmatch(value.strip())
        if not match:
            return None
        offset, count, total = (int(g) for g in match.groups())
        if count > total or offset > total:
            return None
        return cls(offset, count, total)

    def header(self) -> str:
        return f"{self.offset}-{self.count}/{self.total}"


_CONTENT_RANGE = lazy(r"(?:items\s+)?(\d{1,12})-(\d{1,12})/(\d{1,12})")


class ErrorInfo(BaseModel):
    """One error normalised from any of SWR's three error body shapes."""

    model_config = ConfigDict(defer_build=True)  # built on the first error, not at every cold start

    code: str = ""
    message: str = ""
    request_id: str = ""


def parse_error_body(body: bytes) -> ErrorInfo:
    """Normalise an error body.

    Shapes: SWR ``[{errorCode, errorMessage, detail}]`` (also seen as a single object), API gateway
    ``{error_code, error_msg, request_id}``, IAM ``{error: {code, message, title}}``. Anything else gives
    an ErrorInfo with the first 200 characters of the text as its message.
    """
    from shared.swr import wirejson

    text = body.decode("utf-8", "replace")
    try:
        data = wirejson.loads(text) if text.strip() else None
    except wirejson.JsonError:  # not JSON, nested too deeply, odd numbers: the text is the message
        data = None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if isinstance(data, dict):
        if isinstance(data.get("error"), dict):
            err = data["error"]
            return ErrorInfo(
                code=str(err.get("code", "")), message=str(err.get("message") or err.get("title") or "")
            )
        code = data.get("errorCode") or data.get("error_code") or data.get("code") or ""
        message = (
            data.get("errorMessage")
            or data.get("error_msg")
            or data.get("errorMsg")
            or data.get("message")
            or (data.get("error") if isinstance(data.get("error"), str) else "")
            or ""
        )
        detail = data.get("detail")
        if detail and isinstance(detail, str):
            message = f"{message}: {detail}" if message else detail
        return ErrorInfo(code=str(code), message=str(message), request_id=str(data.get("request_id") or ""))
    return ErrorInfo(message=clip(text.strip(), 200))
