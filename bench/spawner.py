"""A small, long-lived process that starts the benchmark's children (standard library only; run with -I -S).

Why: on Linux a child's ``ru_maxrss`` starts at the *spawning* process's peak RSS (exec keeps the old address
space's high-water mark; Python's subprocess uses vfork), so children started straight from the bench process,
which holds the emulator and up to a million seeded jobs, would report the bench's peak instead of their own.
Spawned from this ~10 MB process, a child's ``ru_maxrss`` is its own peak (every child needs more than that;
the "empty interpreter" row of the RSS case shows the floor). Spawning from a small process is also cheaper
and steadier than forking a large one, which keeps the cold-start timings honest.

Protocol: one JSON request per line on stdin {"argv", "env", "cwd", "timeout"}; one JSON answer per line on
stdout {"spawned_at", "wall_ms", "returncode", "stdout", "stderr"}. ``spawned_at`` is time.perf_counter()
(CLOCK_MONOTONIC, the same clock in every process) just before the spawn.
"""

import json
import subprocess
import sys
import time


def serve() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                req["argv"],
                env=req["env"],
                cwd=req["cwd"],
                capture_output=True,
                text=True,
                timeout=req["timeout"],
                check=False,
            )
            answer = {
                "spawned_at": started,
                "wall_ms": (time.perf_counter() - started) * 1000,
                "returncode": proc.returncode,
                "stdout": proc.stdout,
                "stderr": proc.stderr,
            }
        except subprocess.TimeoutExpired as err:
            answer = {
                "spawned_at": started,
                "wall_ms": (time.perf_counter() - started) * 1000,
                "returncode": -9,
                "stdout": err.stdout if isinstance(err.stdout, str) else "",
                "stderr": f"timed out after {req['timeout']} s",
            }
        except OSError as err:
            answer = {
                "spawned_at": started,
                "wall_ms": 0.0,
                "returncode": -1,
                "stdout": "",
                "stderr": str(err),
            }
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
