"""Child: the least a pydantic + structlog function pays at cold start (the floor of this design): import
structlog and pydantic, build one 5-field model, validate one dict, log one JSON line. No project code.

argv[1]: sys.path entries (the project's site-packages). Prints one ``BENCH_RESULT`` line.
"""

import sys
import time

T0 = time.perf_counter()
sys.path[:0] = [p for p in sys.argv[1].split(":") if p]


def main():
    import io
    import json

    import structlog
    from pydantic import BaseModel

    class Event(BaseModel):
        namespace: str
        repository: str
        tag: str
        digest: str
        size: int = 0

    event = Event.model_validate(
        {"namespace": "bench", "repository": "group/app", "tag": "v1", "digest": "sha256:0", "size": 1}
    )
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(io.StringIO()),
    )
    structlog.get_logger().info("event", tag=event.tag)
    t_done = time.perf_counter()
    import resource

    result = {"t0": T0, "t_done": t_done, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
