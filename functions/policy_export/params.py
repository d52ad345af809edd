"""Query-string parsing and validation: every problem is collected and named, never a traceback.

Parameters: ``namespace`` (one or more; repeated or comma-separated), ``repository`` (globs; repeated or
comma-separated outside ``{...}``), ``remote_region`` (one or more), ``format`` (json|csv|ndjson; else chosen by
``Accept``), ``compare`` (``rules``), ``cursor`` (from a previous page's ``next``) and ``limit`` (items per page).
"""

from __future__ import annotations

import hashlib

from shared.record import record
from shared.rules import RuleError, compile_glob, split_patterns
from shared.rules.patterns import Matcher
from shared.swr.endpoints import valid_region
from shared.swr.names import InvalidName, validate_namespace, validate_repository

FORMATS = ("json", "csv", "ndjson")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv", "ndjson": "application/x-ndjson"}
_ACCEPTED_MEDIA = {
    "application/json": "json",
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
}
EXTENSIONS = {"json": "json", "csv": "csv", "ndjson": "ndjson"}
PARAMETERS = ("namespace", "repository", "remote_region", "format", "compare", "cursor", "limit")
SINGLE = ("format", "compare", "cursor", "limit")
COMPARE_VALUES = ("rules",)
MAX_NAMESPACES = 20
MAX_PATTERNS = 100
MAX_REGIONS = 20
LIMIT_MAX = 100_000
CURSOR_MAX = 512
_WILDCARDS = frozenset("*?{},")


class ParamError(ValueError):
    """One or more invalid parameters; ``problems`` maps each parameter name to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


class NotAcceptable(ValueError):
    """The Accept header names no format this function produces (and no ``format`` parameter was given)."""


@record(frozen=True)
class RepoPattern:
    """A repository selector: a literal name (fetched directly) or a glob (matched against the listing)."""

    text: str
    regex: Matcher | None  # None = literal

    @property
    def literal(self) -> bool:
        return self.regex is None

    def matches(self, name: str) -> bool:
        if self.regex is None:
            return name == self.text
        return bool(self.regex.fullmatch(name))


@record(frozen=True)
class ExportQuery:
    """One export request, validated: what to export and how."""

    namespaces: tuple[str, ...]
    repositories: tuple[RepoPattern, ...] = ()  # empty = every repository
    remote_regions: tuple[str, ...] = ()  # empty = every target region
    format: str = "json"
    compare: str | None = None
    limit: int | None = None
    cursor: str | None = None

    @property
    def compare_rules(self) -> bool:
        return self.compare == "rules"

    def fingerprint(self) -> str:
        """What a cursor is bound to: every parameter but the cursor itself, normalised."""
        parts = [
            "ns=" + ",".join(self.namespaces),
            "repo=" + ",".join(p.text for p in self.repositories),
            "region=" + ",".join(self.remote_regions),
            "format=" + self.format,
            "compare=" + (self.compare or ""),
            "limit=" + ("" if self.limit is None else str(self.limit)),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]

    def canonical(self) -> dict[str, object]:
        """The normalised query, echoed in JSON metadata."""
        out: dict[str, object] = {"namespace": list(self.namespaces)}
        if self.repositories:
            out["repository"] = [p.text for p in self.repositories]
        if self.remote_regions:
            out["remote_region"] = list(self.remote_regions)
        if self.compare:
            out["compare"] = self.compare
        if self.limit is not None:
            out["limit"] = self.limit
        return out


split_commas = split_patterns  # commas inside ``{...}`` do not split; empty items are kept for errors


def _values(query: dict[str, list[str]], name: str) -> list[str]:
    out: list[str] = []
    for value in query.get(name, []):
        out.extend(split_commas(value))
    return out


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))


def parse_repository(text: str) -> RepoPattern:
    """A literal repository name or a glob (``*``, ``**``, ``?``, ``{a,b}``); ValueError with the reason."""
    if len(text) > 256:
        raise ValueError("pattern longer than 256 characters")
    if not _WILDCARDS & set(text):
        try:
            validate_repository(text)
        except InvalidName as err:
            raise ValueError(str(err)) from None
        return RepoPattern(text, None)
    if text.startswith("re:"):
        raise ValueError("regular expressions are not accepted here; use a glob")
    try:
        return RepoPattern(text, compile_glob(text, allow_slash=True))
    except RuleError as err:
        raise ValueError(str(err)) from None


def parse_query(query: dict[str, list[str]], accept: str | None = None) -> ExportQuery:
    """Validate the query string (a multi-dict); ParamError names every bad parameter, NotAcceptable for 406."""
    problems: dict[str, str] = {}
    unknown = sorted(k for k in query if k not in PARAMETERS)
    for name in unknown:
        problems[_name(name)] = f"unknown parameter; allowed: {', '.join(PARAMETERS)}"
    for name in SINGLE:
        if len(set(query.get(name, []))) > 1:
            problems[name] = "given more than once with different values"
    namespaces = _namespaces(query, problems)
    patterns = _repositories(query, problems)
    regions = _regions(query, problems)
    fmt = _format(query, problems)
    compare = _compare(query, problems)
    limit = _limit(query, problems)
    cursor = _last(query, "cursor")
    if cursor is not None and (not cursor or len(cursor) > CURSOR_MAX):
        problems["cursor"] = "malformed cursor (pass the 'next' value of the previous page unchanged)"

    if problems:
        raise ParamError(problems)
    if fmt is None:
        fmt = negotiate(accept)
    return ExportQuery(
        namespaces=_dedupe(namespaces),
        repositories=tuple(patterns[k] for k in sorted(patterns)),
        remote_regions=_dedupe(regions),
        format=fmt,
        compare=compare,
        limit=limit,
        cursor=cursor,
    )


def _namespaces(query: dict[str, list[str]], problems: dict[str, str]) -> list[str]:
    namespaces: list[str] = []
    raw_ns = _values(query, "namespace")
    if not raw_ns:
        problems["namespace"] = "required (one or more SWR namespaces, repeated or comma-separated)"
    for value in raw_ns:
        try:
            namespaces.append(validate_namespace(value))
        except InvalidName as err:
            problems.setdefault("namespace", str(err) if value else "empty value")
    if len(set(namespaces)) > MAX_NAMESPACES:
        problems["namespace"] = f"at most {MAX_NAMESPACES} namespaces per export"
    return namespaces


def _repositories(query: dict[str, list[str]], problems: dict[str, str]) -> dict[str, RepoPattern]:
    patterns: dict[str, RepoPattern] = {}
    for value in _values(query, "repository"):
        if not value:
            problems.setdefault("repository", "empty value")
            continue
        try:
            patterns[value] = parse_repository(value)
        except ValueError as err:
            problems.setdefault("repository", str(err))
    if len(patterns) > MAX_PATTERNS:
        problems["repository"] = f"at most {MAX_PATTERNS} repository patterns per export"
    return patterns


def _regions(query: dict[str, list[str]], problems: dict[str, str]) -> list[str]:
    regions: list[str] = []
    for value in _values(query, "remote_region"):
        if valid_region(value):
            regions.append(value)
        else:
            problems.setdefault(
                "remote_region", f"not a region id: {_show(value)} (expected e.g. cn-north-4)"
            )
    if len(set(regions)) > MAX_REGIONS:
        problems["remote_region"] = f"at most {MAX_REGIONS} regions"
    return regions


def _format(query: dict[str, list[str]], problems: dict[str, str]) -> str | None:
    fmt: str | None = None
    raw_format = _last(query, "format")
    if raw_format is not None:
        fmt = raw_format.strip().lower()
        if fmt not in FORMATS:
            problems["format"] = f"must be one of {', '.join(FORMATS)}, got {_show(raw_format)}"
            fmt = None
    return fmt


def _compare(query: dict[str, list[str]], problems: dict[str, str]) -> str | None:
    compare: str | None = None
    raw_compare = _last(query, "compare")
    if raw_compare is not None:
        if raw_compare.strip().lower() in COMPARE_VALUES:
            compare = raw_compare.strip().lower()
        else:
            problems["compare"] = f"must be {' or '.join(COMPARE_VALUES)}, got {_show(raw_compare)}"
    return compare


def _limit(query: dict[str, list[str]], problems: dict[str, str]) -> int | None:
    limit: int | None = None
    raw_limit = _last(query, "limit")
    if raw_limit is not None:
        text = raw_limit.strip()
        # isascii: str.isdigit() is also true for "²" or "٣", which int() then refuses or reads.
        if text.isascii() and text.isdigit() and len(text) <= 7 and 1 <= int(text) <= LIMIT_MAX:
            limit = int(text)
        else:
            problems["limit"] = f"must be an integer from 1 to {LIMIT_MAX}, got {_show(raw_limit)}"
    return limit


def _last(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _name(value: str, limit: int = 40) -> str:
    """A parameter name safe to echo (bounded, no control characters)."""
    return value[:limit].encode("unicode_escape").decode("ascii") or "(empty name)"


def _show(value: str, limit: int = 40) -> str:
    text = value[:limit].encode("unicode_escape").decode("ascii")
    return repr(text + ("..." if len(value) > limit else ""))


def negotiate(accept: str | None) -> str:
    """The format for an Accept header: highest q wins, then specificity, then json > csv > ndjson.

    No header, or ``*/*``, gives json; NotAcceptable if only unsupported types are acceptable.
    """
    if not accept or not accept.strip():
        return "json"
    best: dict[str, tuple[float, int]] = {}
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        if not media:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        for media_type, fmt in _ACCEPTED_MEDIA.items():
            major = media_type.split("/")[0]
            if media == media_type:
                specificity = 3
            elif media == f"{major}/*":
                specificity = 2
            elif media == "*/*":
                specificity = 1
            else:
                continue
            current = best.get(fmt)
            # The most specific range that matches a type decides its q (RFC 9110 12.5.1).
            if current is None or specificity > current[1]:
                best[fmt] = (q, specificity)
    candidates = [(q, spec, -FORMATS.index(fmt), fmt) for fmt, (q, spec) in best.items() if q > 0]
    if not candidates:
        raise NotAcceptable(
            "none of the acceptable media types is produced here; use application/json, text/csv or "
            "application/x-ndjson (or the format parameter)"
        )
    return max(candidates)[3]
