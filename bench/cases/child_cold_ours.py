"""Child: cold start of one function (push-sync unless BENCH_MODULE names another entry module). Fresh
interpreter, import the FunctionGraph handler, handle one event: push-sync an APIG Harbor PUSH_ARTIFACT (one
signed ``sync_images`` call), job-monitor a TIMER, policy-export an APIG GET, all against the bench's loopback
server.

argv[1]: sys.path entries (os.pathsep-joined); env BENCH_EVENT: the event (JSON); BENCH_MODULE, BENCH_FUNCTION:
the entry module and its name; the settings come from the environment like on FunctionGraph. Prints one
``BENCH_RESULT {json}`` line.
"""

import sys
import time

T0 = time.perf_counter()
sys.path[:0] = [p for p in sys.argv[1].split(":") if p]


class Context:
    """The part of the FunctionGraph context a handler may call (no agency: credentials are AK/SK)."""

    def getRequestID(self):
        return "bench-cold"

    def getRemainingTimeInMilliSeconds(self):
        return 30_000

    def getFunctionName(self):
        import os

        return os.environ.get("BENCH_FUNCTION", "push-sync")

    def getUserData(self, name):
        return None


def vmhwm_kib():
    """Peak RSS of this process's own address space (Linux), to cross-check ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    import json
    import os

    event = json.loads(os.environ["BENCH_EVENT"])
    t_import = time.perf_counter()
    import importlib

    handler = importlib.import_module(os.environ.get("BENCH_MODULE", "functions.push_sync.index")).handler

    t_handle = time.perf_counter()
    answer = handler(event, Context())
    t_done = time.perf_counter()
    import resource

    status = answer.get("statusCode") if isinstance(answer, dict) else None
    body = answer.get("body") if isinstance(answer, dict) else answer
    result = {
        "t0": T0,
        "t_done": t_done,
        "import_ms": (t_handle - t_import) * 1000,
        "handle_ms": (t_done - t_handle) * 1000,
        "in_process_ms": (t_done - T0) * 1000,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vmhwm_kib": vmhwm_kib(),
        "status": status,
        "body": str(body)[:600],
        "modules": len(sys.modules),
    }
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
