"""Child: the floor. A fresh interpreter started exactly like the others, doing nothing."""

import sys
import time

T0 = time.perf_counter()
sys.path[:0] = [p for p in sys.argv[1].split(":") if p]
import resource  # noqa: E402

T_DONE = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open("/proc/self/status", encoding="ascii") as f:
    hwm = next((line.split()[1] for line in f if line.startswith("VmHWM:")), "null")
sys.stdout.write(
    f'BENCH_RESULT {{"t0": {T0!r}, "t_done": {T_DONE!r}, "maxrss_kib": {rss}, "vmhwm_kib": {hwm}}}\n'
)
