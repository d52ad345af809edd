"""Child: the official SDK's equivalent of the push-sync cold start. Fresh interpreter, import the SDK, build
``SwrClient`` with ``BasicCredentials(ak, sk, project_id)`` and an http endpoint override (the loopback server),
call ``create_manual_image_sync_repo`` once.

argv[1]: sys.path entries; env BENCH_SDK: {"endpoint", "ak", "sk", "project_id", "namespace", "repository",
"tag", "target_region", "target_namespace"}. Prints one ``BENCH_RESULT {json}`` line.
"""

import sys
import time

T0 = time.perf_counter()
sys.path[:0] = [p for p in sys.argv[1].split(":") if p]


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

    cfg = json.loads(os.environ["BENCH_SDK"])
    t_import = time.perf_counter()
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkswr.v2 import (
        CreateManualImageSyncRepoRequest,
        CreateManualImageSyncRepoRequestBody,
        SwrClient,
    )

    t_handle = time.perf_counter()
    client = (
        SwrClient.new_builder()
        .with_credentials(BasicCredentials(cfg["ak"], cfg["sk"], cfg["project_id"]))
        .with_endpoint(cfg["endpoint"])
        .build()
    )
    request = CreateManualImageSyncRepoRequest(
        namespace=cfg["namespace"],
        # The SDK percent-encodes "/" (a%2Fb); SWR wants "$" (what the Terraform provider does too).
        repository=cfg["repository"].replace("/", "$"),
        body=CreateManualImageSyncRepoRequestBody(
            image_tag=[cfg["tag"]],
            remote_namespace=cfg["target_namespace"],
            remote_region_id=cfg["target_region"],
        ),
    )
    response = client.create_manual_image_sync_repo(request)
    t_done = time.perf_counter()
    import resource

    result = {
        "t0": T0,
        "t_done": t_done,
        "import_ms": (t_handle - t_import) * 1000,
        "handle_ms": (t_done - t_handle) * 1000,
        "in_process_ms": (t_done - T0) * 1000,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vmhwm_kib": vmhwm_kib(),
        "status": response.status_code,
        "body": str(response)[:600],
        "modules": len(sys.modules),
    }
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
