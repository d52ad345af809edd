"""Decode a webhook body and route it to the parser of its format.

The CloudEvents HTTP binding is honoured first (:mod:`functions.push_sync.cehttp`): a batched
(``application/cloudevents-batch+json``), structured (``application/cloudevents+json``) or binary (``ce-*``
headers, the body being the data) request is read as such. Any other body is routed by its shape through
:data:`DETECTORS`, one per format; on every recorded real payload exactly one detector claims it. Otherwise the
Content-Type is not trusted (registries differ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from functions.push_sync import cehttp
from functions.push_sync.model import ParseResult, PayloadError
from functions.push_sync.parsers import (
    acr,
    alibaba,
    cloudevents,
    distribution,
    dockerhub,
    ecr,
    generic,
    gitea,
    harbor,
    jfrog,
    pubsub,
    quay,
)
from functions.push_sync.parsers.common import json_kind, loads

MAX_PUSHES = 1000  # pushed tags in one delivery; a registry batch is far smaller


def decode(body: bytes) -> Any:
    """The body's JSON value. Malformed JSON, including an object with a repeated key, is a PayloadError."""
    if not body.strip():
        raise PayloadError("empty body: expected a JSON push payload")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PayloadError(f"body is not UTF-8 text (invalid byte at offset {err.start})") from None
    return loads(text)


def parse_payload(body: bytes, headers: Mapping[str, str] | None = None) -> ParseResult:
    """Parse a webhook body; raises :class:`PayloadError` (→ 400) naming what is wrong.

    ``headers`` (lower-cased names) select the CloudEvents content mode: batched, structured, binary, or none
    (then the body's shape decides)."""
    headers = {
        k.lower(): v for k, v in (headers or {}).items()
    }  # the adapters lower-case; direct callers may not
    mode = cehttp.content_mode(headers)
    if mode == "binary":
        result = cloudevents.parse(cehttp.binary_event(headers, body), route, 0)
    elif mode == "batched":
        data = decode(body)
        if not isinstance(data, list):
            raise PayloadError(
                f"{cehttp.BATCH}+json body must be a JSON array of CloudEvents, got {json_kind(data)}"
            )
        result = cloudevents.parse_batch(data, route, 0, "cloudevents-batch")
    elif mode == "structured":
        data = decode(body)
        if not (isinstance(data, dict) and cloudevents.looks_like(data)):
            raise PayloadError(
                f"{cehttp.STRUCTURED}+json body must be one CloudEvent object (with 'specversion'), "
                f"got {json_kind(data)}"
            )
        result = cloudevents.parse(data, route, 0)
    elif (event := gitea.event_header(headers)) and event != gitea.EVENT:
        result = gitea.other_event(event)  # a Gitea/Forgejo repository event (or its test delivery)
    else:
        result = route(decode(body), 0)
    pushes = len(result.events) + len(result.rejected)
    if pushes > MAX_PUSHES:
        raise PayloadError(f"too many pushed tags in one delivery ({pushes} > {MAX_PUSHES})")
    return result


# (format, detector), in the order tried. On every real payload exactly one detector answers True
# (tests/push_sync/test_registries.py): the order only settles hostile mixtures.
DETECTORS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("cloudevents", cloudevents.looks_like),
    ("eventgrid", cloudevents.is_batch),
    ("distribution", distribution.looks_like),
    ("pubsub", pubsub.looks_like),
    ("ecr", ecr.looks_like),
    ("jfrog", jfrog.looks_like),
    ("gitea", gitea.looks_like),
    ("acr", acr.looks_like),
    ("harbor", harbor.looks_like),
    ("alibaba-acr", alibaba.looks_like),
    ("dockerhub", dockerhub.looks_like),
    ("quay", quay.looks_like),
    ("generic", generic.looks_like),
]
_PARSERS: dict[str, Callable[[dict[str, Any], int], ParseResult]] = {
    "cloudevents": lambda d, depth: cloudevents.parse(d, route, depth),
    "eventgrid": lambda d, depth: cloudevents.parse_batch(d, route, depth),
    "distribution": lambda d, _: distribution.parse(d),
    "pubsub": lambda d, depth: pubsub.parse(d, route, depth),
    "ecr": lambda d, _: ecr.parse(d),
    "jfrog": lambda d, _: jfrog.parse(d),
    "gitea": lambda d, _: gitea.parse(d),
    "acr": lambda d, _: acr.parse(d),
    "harbor": lambda d, _: harbor.parse(d),
    "alibaba-acr": lambda d, _: alibaba.parse(d),
    "dockerhub": lambda d, _: dockerhub.parse(d),
    "quay": lambda d, _: quay.parse(d),
    "generic": lambda d, _: generic.parse(d),
}


def detect(data: dict[str, Any]) -> list[str]:
    """Every format whose detector claims ``data`` (for tests: one, on a real payload)."""
    return [name for name, claims in DETECTORS if claims(data)]


def route(data: Any, depth: int = 0) -> ParseResult:
    if isinstance(data, list) and data and all(cloudevents.is_event(e) for e in data):
        return cloudevents.parse_batch(data, route, depth, "cloudevents-batch")
    if not isinstance(data, dict):
        raise PayloadError(f"unrecognised payload: expected a JSON object, got {json_kind(data)}")
    for name, claims in DETECTORS:
        if claims(data):
            return _PARSERS[name](data, depth)
    if "events" in data:
        raise PayloadError(
            "unrecognised payload: 'events' must be a list of Distribution events (each with 'action') "
            "or of CloudEvents (each with 'specversion')"
        )
    keys = sorted(str(k)[:40] for k in data)[:12]
    raise PayloadError(
        "unrecognised payload: not Harbor/SWR EE (type + event_data), CloudEvents (specversion), "
        "Distribution/GitLab (events[].action), Docker Hub (push_data + repository.repo_name), Alibaba ACR "
        "(push_data + repository.repo_full_name), Quay (updated_tags), Azure ACR (action + target), JFrog "
        "(domain + event_type), Gitea/Forgejo (package + action), AWS ECR via EventBridge (detail-type + detail), "
        "Pub/Sub push (message + subscription) or generic (namespace + repository + tags); "
        f"top-level keys: {keys}"
    )
