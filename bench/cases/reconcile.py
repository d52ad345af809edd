"""Case: reconcile at scale. A plan (dry run) of N repositories x 100 tags, each to 3 target regions where
half the tags are missing, against the emulator (no injected latency), in process. Measured: SWR requests
(from the emulator's request log) against the ideal count, and the plan's wall time.

Ideal: 1 namespace listing + ceil(N / 100) repository pages + per repository 1 source tag page and 1 tag page per
target (100 tags = one page each): N x (1 + 3) + ceil(N / 100) + 1. Goal: at most 1.10 x the ideal (#22).
"""

from __future__ import annotations

import json
import math
import time

from bench import emu
from bench.common import AK, PROJECT_ID, SK, CaseResult, Metric, stats
from bench.context import Ctx

KEYS = ("reconcile",)
NAMESPACE = "rec"
TARGETS = ("ap-southeast-1", "ap-southeast-3", "cn-east-3")


def run(ctx: Ctx) -> list[CaseResult]:
    from functions.job_monitor.reconcile.run import reconcile
    from functions.job_monitor.reconcile.wiring import ReconcileSettings, clients, select_repos

    repos = ctx.pick(1000, 200, smoke=10)
    tags = ctx.pick(100, 100, smoke=10)
    case = CaseResult(
        "reconcile", f"Reconcile plan: {repos:,} repositories x {tags} tags x {len(TARGETS)} regions"
    )
    emulator_cls, _ = emu.modules()
    server = emulator_cls(port=0, aksk={AK: SK}, regions=("cn-north-4", *TARGETS)).start()
    try:
        state = server.state
        for region in TARGETS:
            state.add_namespace(NAMESPACE, region)
        for r in range(repos):
            name = f"app-{r:04d}"
            for t in range(tags):
                state.add_image(NAMESPACE, name, f"1.{t}.0")
                if t % 2 == 0:
                    for region in TARGETS:
                        state.add_image(NAMESPACE, name, f"1.{t}.0", region=region)
        rules = [
            {"namespace": NAMESPACE, "targets": [{"region": r, "namespace": NAMESPACE} for r in TARGETS]}
        ]
        settings = ReconcileSettings.model_validate(
            {
                "SWR_ENDPOINT": server.url,
                "SWR_REGION": state.default_region,
                "SWR_ENDPOINT_TEMPLATE": server.url + "/regions/{region}",
                "CLOUD_SDK_AK": AK,
                "CLOUD_SDK_SK": SK,
                "CLOUD_SDK_PROJECT_ID": PROJECT_ID,
                "SYNC_RULES": json.dumps(rules),
            }
        )
        before = emu.request_seq(server)
        started = time.perf_counter()
        source, target_client = clients(settings, None)
        selected = select_repos(source, settings.rules)
        outcome = reconcile(
            selected,
            settings.rules,
            source,
            target_client,
            source_region=state.default_region,
            keep_plans=0,
        )
        seconds = time.perf_counter() - started
        requests = len(emu.requests_since(server, before))
        ideal = repos * (1 + len(TARGETS)) + math.ceil(repos / 100) + 1
        expected = repos * len(TARGETS) * (tags // 2)
        if outcome.to_sync != expected or not outcome.complete:
            raise RuntimeError(f"plan wrong: {outcome.to_sync} tags to sync, expected {expected}")
        case.metrics = [
            Metric(
                "SWR requests vs ideal",
                "requests",
                ours=stats([requests]),
                ratio_override=requests / ideal,
                goal=1.10,
                goal_text=f"<= 1.10 x ideal ({ideal:,})",
                digits=0,
            ),
            Metric("plan wall time", "s", ours=stats([seconds]), digits=2),
        ]
        case.details = {"requests": requests, "ideal": ideal, "tags_to_sync": outcome.to_sync}
    finally:
        server.stop()
    return [case]
