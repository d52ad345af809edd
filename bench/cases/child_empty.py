"""Child: the floor. A fresh interpreter started exactly like the others, doing nothing."""

import sys
import time

T0 = time.perf_counter()
sys.path[:0] = [p for p in sys.argv[1].split(":") if p]
import resource  # noqa: E402

rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stdout.write(f'BENCH_RESULT {{"t0": {T0!r}, "t_done": {time.perf_counter()!r}, "maxrss_kib": {rss}}}\n')
