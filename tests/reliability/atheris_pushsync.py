"""Coverage-guided fuzzing of push-sync's untrusted-input path with atheris (libFuzzer). A script, not a test:
pytest does not collect it (the name does not start with ``test_``), and atheris is not a project dependency.

    .venv/bin/pip install atheris
    .venv/bin/python tests/reliability/atheris_pushsync.py -runs=200000 -max_len=4096 [CORPUS_DIR]

Each input drives one of: the detector and every parser (``parse_payload`` with arbitrary bytes and optional
CloudEvents binary-mode headers), the decision step on what was parsed, webhook authentication, and the name
validator/encoder. Any exception other than the documented ``PayloadError`` / ``InvalidName`` is a crash, and so
is a parsed event whose names or tag SWR would refuse. libFuzzer's options (``-runs``, ``-max_total_time``,
``-dict``...) are passed through.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import atheris

with atheris.instrument_imports():
    from functions.push_sync.decide import decide
    from functions.push_sync.detect import parse_payload
    from functions.push_sync.model import PayloadError
    from functions.push_sync.webhook_auth import authenticate, signature
    from shared.rules import RuleSet
    from shared.runtime.model import Request
    from shared.swr import names
    from shared.swr.models import TAG_RE

RULES = RuleSet.parse('[{"namespace": "*", "targets": [{"region": "ap-southeast-1", "namespace": "demo"}]}]')
SECRET = "atheris-webhook-secret"


def _parse(data: bytes) -> None:
    headers = (
        {"ce-specversion": "1.0", "ce-type": "com.example.push", "ce-id": "1"} if data[:1] == b"\x01" else {}
    )
    try:
        result = parse_payload(data[1:], headers)
    except PayloadError as err:
        assert str(err)
        return
    for event in result.events:
        names.validate_namespace(event.namespace)
        names.validate_repository(event.repository)
        assert TAG_RE.fullmatch(event.tag), event
    for decision in decide(result.events, RULES, "cn-north-4"):
        decision.items()


def _auth(fdp: atheris.FuzzedDataProvider) -> None:
    body = fdp.ConsumeBytes(64)
    value = fdp.ConsumeUnicodeNoSurrogates(80)
    count = fdp.ConsumeIntInRange(0, 3)
    headers = {"authorization": value, "x-signature-256": fdp.ConsumeUnicodeNoSurrogates(80)}
    request = Request("POST", "/", headers, {}, body, {"authorization": count, "x-signature-256": 1})
    ok = authenticate(request, SECRET)
    if ok:  # only the secret itself, or a signature made with it, may pass
        assert count <= 1
        assert (
            value.strip() in (SECRET, f"Bearer {SECRET}")
            or value.strip().partition(" ")[2].strip() == SECRET
            or signature(SECRET, body) in headers["x-signature-256"].lower()
        ), (value, headers)


def _names(fdp: atheris.FuzzedDataProvider) -> None:
    text = fdp.ConsumeUnicodeNoSurrogates(200)
    for validate, encode in (
        (names.validate_namespace, names.encode_namespace),
        (names.validate_repository, names.encode_repository),
    ):
        try:
            valid = validate(text)
        except names.InvalidName:
            continue
        segment = encode(valid)
        assert "/" not in segment and "?" not in segment and "#" not in segment, segment
        if validate is names.validate_repository:
            assert names.decode_repository(segment) == valid
    with contextlib.suppress(names.InvalidName):
        names.split_full_name(text)


def fuzz_one_input(data: bytes) -> None:
    """First byte: the target (0-1 parse, 2 auth, 3 names); the rest is its input."""
    if not data:
        return
    target, rest = data[0] % 4, data[1:]
    if target < 2:
        _parse(rest)
    elif target == 2:
        _auth(atheris.FuzzedDataProvider(rest))
    else:
        _names(atheris.FuzzedDataProvider(rest))


def _seed_corpus() -> str:
    """A corpus seeded with the sample webhooks of events/push-sync (libFuzzer adds what it finds)."""
    import json
    import tempfile

    corpus = Path(tempfile.mkdtemp(prefix="atheris-pushsync-"))
    events = Path(__file__).resolve().parents[2] / "events" / "push-sync"
    for i, sample in enumerate(sorted(events.glob("*.json"))):
        data = json.loads(sample.read_text())
        if isinstance(data, dict) and "httpMethod" in data:
            continue  # trigger envelopes, not webhook bodies
        (corpus / f"seed-{i}").write_bytes(b"\x00\x00" + json.dumps(data).encode())
    return str(corpus)


def main() -> None:
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):
        argv.append(_seed_corpus())
    atheris.Setup(argv, fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
