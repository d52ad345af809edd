"""Child: the SDK's equivalent of an export: list the namespace's repositories (100 per page), then, one after
the other, ``list_image_auto_sync_repos_details`` for each. Against the emulator, AK/SK signed.

argv[1]: sys.path entries; env BENCH_SDK = {"endpoint", "ak", "sk", "project_id", "namespace"}. Prints one
``BENCH_RESULT`` line: {"ms", "repositories", "policies", "calls"}.
"""

import sys
import time

sys.path[:0] = [p for p in sys.argv[1].split(":") if p]


def main():
    import json
    import os

    cfg = json.loads(os.environ["BENCH_SDK"])
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkswr.v2 import (
        ListImageAutoSyncReposDetailsRequest,
        ListReposDetailsRequest,
        SwrClient,
    )

    client = (
        SwrClient.new_builder()
        .with_credentials(BasicCredentials(cfg["ak"], cfg["sk"], cfg["project_id"]))
        .with_endpoint(cfg["endpoint"])
        .build()
    )
    namespace = cfg["namespace"]
    t = time.perf_counter()
    calls = 0
    names = []
    offset = 0
    while True:
        page = (
            client.list_repos_details(
                ListReposDetailsRequest(namespace=namespace, limit="100", offset=str(offset))
            ).body
            or []
        )
        calls += 1
        names += [r.name for r in page if r.namespace == namespace]
        if len(page) < 100:
            break
        offset += 100
    policies: list = []
    for name in names:
        response = client.list_image_auto_sync_repos_details(
            ListImageAutoSyncReposDetailsRequest(namespace=namespace, repository=name.replace("/", "$"))
        )
        calls += 1
        policies += response.body or []
    ms = (time.perf_counter() - t) * 1000
    result = {"ms": ms, "repositories": len(names), "policies": len(policies), "calls": calls}
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
