"""Child: the least a function pays at cold start with a given dependency stack (a floor; no project code).

Every variant imports the stdlib HTTP stack a real function needs (``urllib.request``, ``hmac``, ``hashlib``),
reads one 5-field record from a dict and writes one JSON log line. What varies is how:
- ``pydantic+structlog`` (the decided stack): a pydantic model, a structlog JSON logger;
- ``pydantic``: a pydantic model, the line written with ``json.dumps``;
- ``structlog``: a dataclass, a structlog JSON logger;
- ``stdlib``: a dataclass, ``json.dumps``.

argv[1]: sys.path entries (the project's site-packages); argv[2]: the variant. Prints one ``BENCH_RESULT`` line.
"""

import sys
import time

T0 = time.perf_counter()
sys.path[:0] = [p for p in sys.argv[1].split(":") if p]
VARIANT = sys.argv[2] if len(sys.argv) > 2 else "pydantic+structlog"
RECORD: dict = {"namespace": "bench", "repository": "group/app", "tag": "v1", "digest": "sha256:0", "size": 1}


def read_record():
    if "pydantic" in VARIANT:
        from pydantic import BaseModel

        class ModelEvent(BaseModel):
            namespace: str
            repository: str
            tag: str
            digest: str
            size: int = 0

        return ModelEvent.model_validate(RECORD)
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class PlainEvent:
        namespace: str
        repository: str
        tag: str
        digest: str
        size: int = 0

    return PlainEvent(**RECORD)


def log_line(tag, stream):
    import json

    if "structlog" in VARIANT:
        import structlog

        structlog.configure(
            processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
            logger_factory=structlog.PrintLoggerFactory(stream),
        )
        structlog.get_logger().info("event", tag=tag)
    else:
        stream.write(json.dumps({"level": "info", "event": "event", "tag": tag}) + "\n")


def main():
    import hashlib
    import hmac
    import io
    import json
    import urllib.request

    assert urllib.request and hmac and hashlib
    if VARIANT not in ("pydantic+structlog", "pydantic", "structlog", "stdlib"):
        raise SystemExit(f"unknown variant {VARIANT!r}")
    log_line(read_record().tag, io.StringIO())
    t_done = time.perf_counter()
    import resource

    result = {"t0": T0, "t_done": t_done, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
