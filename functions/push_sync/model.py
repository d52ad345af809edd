"""What the parsers produce: normalised pushes, and the items they ignore or reject, each with a reason."""

from __future__ import annotations

from typing import Any

from shared.record import field, record


@record(frozen=True)
class PushEvent:
    """One pushed tag, mapped to SWR names (validated)."""

    namespace: str
    repository: str  # may contain "/"
    tag: str
    digest: str = ""  # "" when the source does not say
    source: str = ""  # format id: harbor, harbor-cloudevents, distribution, dockerhub, quay, generic
    version: str = ""  # identity of the push when there is no digest (Docker Hub pushed_at), else ""

    @property
    def identity(self) -> str:
        """What tells two pushes of the same tag apart ("" = nothing does)."""
        return self.digest or self.version

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"namespace": self.namespace, "repository": self.repository, "tag": self.tag}
        if self.digest:
            out["digest"] = self.digest
        return out


@record(frozen=True)
class Ignored:
    """Acknowledged but not acted on: not a push, a layer push, a digest-only push, ..."""

    reason: str
    source: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason, **self.detail}


@record(frozen=True)
class Rejected:
    """A push whose names or tag SWR cannot accept: reported, never sent."""

    namespace: str
    repository: str
    tag: str
    reason: str
    rule: str
    source: str
    digest: str = ""


@record
class ParseResult:
    """A parsed delivery: its format, the pushes, and what was ignored or rejected."""

    format: str
    events: list[PushEvent] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.events.extend(other.events)
        self.ignored.extend(other.ignored)
        self.rejected.extend(other.rejected)


class PayloadError(ValueError):
    """The body is not JSON, or not a payload this function recognises (→ 400, message shown to the caller)."""
