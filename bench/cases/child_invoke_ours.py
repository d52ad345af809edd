"""Child: import one of our FunctionGraph handlers and invoke it with events, timing each invocation.

argv[1]: sys.path entries; env: the function's settings, BENCH_CONFIG_FILE = a JSON file {"module":
"functions.x.index", "warmup": [events], "events": [events], "body_chars": n}. Logs go to /dev/null. Prints one
``BENCH_RESULT`` line: {"import_ms", "results": [{"ms", "status", "headers", "body"}]}.
"""

import sys
import time

sys.path[:0] = [p for p in sys.argv[1].split(":") if p]


class Context:
    def getRequestID(self):
        return "bench-invoke"

    def getRemainingTimeInMilliSeconds(self):
        return 600_000

    def getFunctionName(self):
        return "bench"

    def getUserData(self, name):
        return None


def main():
    import importlib
    import json
    import os

    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    with open(os.environ["BENCH_CONFIG_FILE"], encoding="utf-8") as f:
        cfg = json.load(f)
    t = time.perf_counter()
    handler = importlib.import_module(cfg["module"]).handler
    import_ms = (time.perf_counter() - t) * 1000
    ctx = Context()

    def invoke(event):
        t = time.perf_counter()
        answer = handler(event, ctx)
        ms = (time.perf_counter() - t) * 1000
        headers: dict = {}
        if isinstance(answer, dict) and "statusCode" in answer and "body" in answer:  # APIG shape
            status, body, headers = answer.get("statusCode"), answer.get("body"), answer.get("headers") or {}
        elif isinstance(answer, dict):  # a non-HTTP trigger gets the JSON value (may carry statusCode)
            status, body = answer.get("statusCode"), answer
        else:
            status, body = None, answer
        text = body if isinstance(body, str) else json.dumps(body, default=str)
        return {"ms": ms, "status": status, "headers": headers, "body": text[: cfg.get("body_chars", 2000)]}

    warmup = [invoke(e) for e in cfg.get("warmup", [])]
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF)
    results = [invoke(e) for e in cfg["events"]]
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_ms = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    report = {"import_ms": import_ms, "warmup": warmup, "results": results, "cpu_ms": cpu_ms}
    out.write("BENCH_RESULT " + json.dumps(report) + "\n")
    out.flush()


main()
