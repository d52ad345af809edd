"""Child: the floor of an export on this machine: the same requests as policy-export (repository listing pages,
then one ``list_sync_repos`` per repository) with the project's own client and a bare thread pool, no export
logic. Shows how much of the export's wall time is the emulator + client + 2 cores, not the export.

argv[1]: sys.path entries; env SWR_ENDPOINT, CLOUD_SDK_AK/SK/PROJECT_ID, BENCH_NAMESPACE, BENCH_CONCURRENCY.
Prints one ``BENCH_RESULT`` line: {"ms", "repositories", "calls"}.
"""

import sys
import time

sys.path[:0] = [p for p in sys.argv[1].split(":") if p]


def main():
    import json
    import os
    from concurrent.futures import ThreadPoolExecutor

    from shared.swr.auth import AkSkAuth
    from shared.swr.client import SwrClient

    env = os.environ
    client = SwrClient(
        env["SWR_ENDPOINT"],
        AkSkAuth(env["CLOUD_SDK_AK"], env["CLOUD_SDK_SK"], None, env["CLOUD_SDK_PROJECT_ID"]),
    )
    namespace = env["BENCH_NAMESPACE"]
    t = time.perf_counter()
    names = [r.name for r in client.iter_repos(namespace)]
    with ThreadPoolExecutor(int(env["BENCH_CONCURRENCY"])) as pool:
        list(pool.map(lambda name: client.list_sync_repos(namespace, name), names))
    ms = (time.perf_counter() - t) * 1000
    result = {"ms": ms, "repositories": len(names), "calls": client.stats.requests}
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
