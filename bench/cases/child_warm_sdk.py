"""Child: the SDK's per-request cost, no network: build and sign the request through the client's own pipeline
(``create_manual_image_sync_repo`` with ``HttpClient.do_request_sync`` stubbed to answer ``[]``), and the SDK's
signer alone over a prepared request.

argv[1]: sys.path entries; env BENCH_CONFIG_FILE = a JSON file {"single": n, "envelopes": n, "envelope_size": n, "warmup": n,
"sign_iterations": n, "ak", "sk", "project_id", "namespace", "repository", "target_region",
"target_namespace"}. Prints one ``BENCH_RESULT`` line.
"""

import sys
import time

sys.path[:0] = [p for p in sys.argv[1].split(":") if p]


def main():
    import json
    import os
    import statistics

    with open(os.environ["BENCH_CONFIG_FILE"], encoding="utf-8") as f:
        cfg = json.load(f)
    import requests
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_client import HttpClient
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer
    from huaweicloudsdkswr.v2 import (
        CreateManualImageSyncRepoRequest,
        CreateManualImageSyncRepoRequestBody,
        SwrClient,
    )

    calls = []

    def stub(self, request):
        calls.append((request.method, request.resource_path, "Authorization" in request.header_params))
        response = requests.Response()
        response.status_code = 200
        response._content = b"[]"
        response.headers["Content-Type"] = "application/json"
        response.encoding = "utf-8"
        return response

    HttpClient.do_request_sync = stub
    credentials = BasicCredentials(cfg["ak"], cfg["sk"], cfg["project_id"])
    client = SwrClient.new_builder().with_credentials(credentials).with_endpoint("http://127.0.0.1:9").build()

    def call(repository, tag):
        request = CreateManualImageSyncRepoRequest(
            namespace=cfg["namespace"],
            repository=repository.replace("/", "$"),
            body=CreateManualImageSyncRepoRequestBody(
                image_tag=[tag],
                remote_namespace=cfg["target_namespace"],
                remote_region_id=cfg["target_region"],
            ),
        )
        response = client.create_manual_image_sync_repo(request)
        if response.status_code != 200:
            raise RuntimeError(f"SDK call answered {response.status_code}")

    for i in range(cfg["warmup"]):
        call(cfg["repository"], f"w{i}")
    calls.clear()

    single = []
    for i in range(cfg["single"]):
        t = time.perf_counter_ns()
        call(cfg["repository"], f"v{i}")
        single.append((time.perf_counter_ns() - t) / 1000)
    single_calls = len(calls)
    single_signed = sum(1 for c in calls if c[2])
    calls.clear()

    n = cfg["envelope_size"]
    per_envelope = []
    for e in range(cfg["envelopes"]):
        t = time.perf_counter_ns()
        for i in range(n):  # the same requests push-sync makes for the envelope: one per repository
            call(f"app-{i:03d}", f"v1.{i}e{e}")
        per_envelope.append((time.perf_counter_ns() - t) / 1000)
    envelope_calls = len(calls)
    envelope_signed = sum(1 for c in calls if c[2])

    body = b'{"imageTag":["v1"],"override":false,"remoteNamespace":"bench-mirror","remoteRegionId":"ap-southeast-1"}'
    signer = Signer(credentials)
    sign_n = cfg["sign_iterations"]
    t = time.perf_counter_ns()
    for _ in range(sign_n):
        req = SdkRequest(
            method="POST",
            schema="http",
            host="127.0.0.1:9",
            resource_path="/v2/manage/namespaces/bench/repos/group$app/sync_images",
            query_params=[],
            header_params={"Content-Type": "application/json", "X-Project-Id": cfg["project_id"]},
            body=body,
        )
        signer.sign(req)
    sign_us = (time.perf_counter_ns() - t) / 1000 / sign_n

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
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


main()
