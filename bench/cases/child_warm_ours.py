"""Child: warm per-event cost of push-sync (parse, route, build and sign the request), no network.

The transport is replaced by a stub that answers ``[]`` without I/O (``shared.swr.http.UrllibTransport.send``).
Logs are written to /dev/null (their cost is part of the per-event cost). Events are all distinct (tags,
digests, envelope ids) so that no de-duplication can short-cut one.

argv[1]: sys.path entries; env: the function's settings, BENCH_CONFIG_FILE = a JSON file {"single": [events], "envelopes":
[events], "warmup": [events], "envelope_size": n, "sign_iterations": n}. Prints one ``BENCH_RESULT`` line.
"""

import sys
import time

sys.path[:0] = [p for p in sys.argv[1].split(":") if p]


class Context:
    def getRequestID(self):
        return "bench-warm"

    def getRemainingTimeInMilliSeconds(self):
        return 30_000

    def getFunctionName(self):
        return "push-sync"

    def getUserData(self, name):
        return None


def main():
    import json
    import os
    import statistics

    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    with open(os.environ["BENCH_CONFIG_FILE"], encoding="utf-8") as f:
        cfg = json.load(f)
    from functions.push_sync.index import handler
    from shared.swr import signer
    from shared.swr.http import HttpResponse, UrllibTransport

    calls = []

    def stub_send(self, request, timeout):
        calls.append((request.method, request.path, "Authorization" in request.headers))
        return HttpResponse(200, {"content-type": "application/json"}, b"[]")

    setattr(UrllibTransport, "send", stub_send)  # noqa: B010 (mypy: no method assignment)
    ctx = Context()

    def handle(event):
        answer = handler(event, ctx)
        status = answer.get("statusCode") if isinstance(answer, dict) else None
        if not (isinstance(status, int) and 200 <= status < 300):
            raise RuntimeError(f"push-sync answered {status}: {str(answer)[:400]}")

    for event in cfg["warmup"]:
        handle(event)
    calls.clear()

    single = []
    for event in cfg["single"]:
        t = time.perf_counter_ns()
        handle(event)
        single.append((time.perf_counter_ns() - t) / 1000)
    single_calls = len(calls)
    single_signed = sum(1 for c in calls if c[2] and c[1].endswith("/sync_images"))
    calls.clear()

    per_envelope = []
    for event in cfg["envelopes"]:
        t = time.perf_counter_ns()
        handle(event)
        per_envelope.append((time.perf_counter_ns() - t) / 1000)
    envelope_calls = len(calls)
    envelope_signed = sum(1 for c in calls if c[2] and c[1].endswith("/sync_images"))

    # The signing step alone, over the same kind of request.
    body = b'{"imageTag":["v1"],"override":false,"remoteNamespace":"bench-mirror","remoteRegionId":"ap-southeast-1"}'
    sign_n = cfg["sign_iterations"]
    t = time.perf_counter_ns()
    for _ in range(sign_n):
        headers = {"Host": "127.0.0.1:9", "Content-Type": "application/json", "User-Agent": "swr-sync/0.1"}
        signer.sign(
            "AK", "SK", "POST", "/v2/manage/namespaces/bench/repos/group$app/sync_images", None, headers, body
        )
    sign_us = (time.perf_counter_ns() - t) / 1000 / sign_n

    n = cfg["envelope_size"]
    result = {
        "single_us_median": statistics.median(single),
        "single_us_mean": statistics.fmean(single),
        "single_events": len(single),
        "single_calls": single_calls,
        "single_signed": single_signed,
        "envelope_us_per_event_median": statistics.median(per_envelope) / n,
        "envelope_us_per_event_mean": statistics.fmean(per_envelope) / n,
        "envelopes": len(per_envelope),
        "envelope_calls": envelope_calls,
        "envelope_signed": envelope_signed,
        "sign_only_us": sign_us,
    }
    out.write("BENCH_RESULT " + json.dumps(result) + "\n")
    out.flush()


main()
