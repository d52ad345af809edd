"""The local stack's walkthrough: a push, the sync it causes, the job states, a redelivered webhook, an excluded
tag, the monitor report, the export and its drift, and the health link, each step printed through ``out``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from localdev.demo import (
    DEMO_EXPORT_TOKEN,
    DEMO_MONITOR_TOKEN,
    DEMO_NAMESPACE,
    DEMO_WEBHOOK_SECRET,
    SOURCE_REGION,
    TARGET_REGION,
)

Out = Callable[[str], None]


def run(emulator: Any, gw: str, health_link: Callable[[], str], out: Out = print) -> dict[str, Any]:
    """Walk through the product against ``emulator`` (a started :class:`localdev.emulator.Emulator`) through the
    gateway at ``gw``; returns what a test checks: sync calls, job states, target tags, proof of replication."""
    emu = emulator.url
    out("")
    out("swr-sync local stack")
    out(f"  emulator   {emu}  (SWR + IAM; regions {SOURCE_REGION}, {TARGET_REGION})")
    out(f"  gateway    {gw}  POST /push-sync · GET /policy-export · POST /job-monitor · GET /health")
    out(f"  rule       {DEMO_NAMESPACE}/** (except *-dev tags) → {TARGET_REGION}/{DEMO_NAMESPACE}")
    out("")
    sync_calls, seen, target_tags = _sync_steps(emulator, gw, out)
    proof = _monitor_step(gw, out)
    _export_steps(gw, out)
    out("9. the replication health page (job-monitor's GET; a signed link, valid 1 h):")
    out(f"   {health_link()}")
    out("")
    out("try it yourself:")
    out(
        f'  curl -s -X POST {emu}/_emulator/images -d \'{{"namespace":"demo","repository":"team/app","tag":"v1.1"}}\''
    )
    out(f"  curl -s -X POST -H 'Authorization: Bearer {DEMO_MONITOR_TOKEN}' {gw}/job-monitor")
    out(
        f"  curl -s -H 'Authorization: Bearer {DEMO_EXPORT_TOKEN}' '{gw}/policy-export?namespace=demo&format=json'"
    )
    out(f"  curl -s {emu}/_emulator/state | python3 -m json.tool | less")
    return {
        "sync_calls": len(sync_calls),
        "job_states": seen,
        "target_tags": sorted(target_tags),
        "replication": proof,
    }


def _sync_steps(emulator: Any, gw: str, out: Out) -> tuple[list[dict[str, Any]], list[str], dict[str, str]]:
    """Steps 1 to 5: a push, push-sync's sync call, the job's states, a redelivery, an excluded tag."""
    out("1. a developer pushes demo/team/app:v1.0 to the source registry")
    _push(emulator, "team/app", "v1.0", out)
    sync_calls = [
        r
        for r in emulator.state.requests()
        if r.get("method") == "POST" and "sync_images" in r.get("path", "")
    ]
    out("2. push-sync called SWR's manual sync API:")
    for r in sync_calls[-3:]:
        out(f"   {r['method']} {r['path']}")
        out(f"   body {json.dumps(r.get('body'), separators=(',', ':'))}")
    out("3. the sync job, as SWR reports it:")
    seen: list[str] = []
    for _ in range(40):
        jobs = [j for j in emulator.state.jobs() if j.get("repoName") == "team/app"]
        if jobs:
            current = jobs[-1]["status"]
            if not seen or seen[-1] != current:
                seen.append(current)
            if current not in ("waiting", "running"):
                break
        time.sleep(0.25)
    out("   " + " → ".join(seen or ["(no job)"]))
    target_tags = emulator.state.tags(DEMO_NAMESPACE, "team/app", TARGET_REGION)
    out(f"   {TARGET_REGION} now has demo/team/app tags: {sorted(target_tags) or 'none'}")
    out("4. the registry redelivers the same webhook (a retry after a timeout): nothing is synced twice")
    _redeliver(emulator, gw, out)
    out("5. a push of demo/team/app:v1.1-dev: the rule excludes *-dev tags")
    _push(emulator, "team/app", "v1.1-dev", out)
    return sync_calls, seen, target_tags


def _monitor_step(gw: str, out: Out) -> Any:
    """Step 6: job-monitor's report (as its timer would get it); returns its proof of replication."""
    out("6. job-monitor (timer) report:")
    status, _, body = _http(
        f"{gw}/job-monitor",
        "POST",
        b"{}",
        {"Content-Type": "application/json", "Authorization": f"Bearer {DEMO_MONITOR_TOKEN}"},
    )
    report = _json_or_text(body)
    if isinstance(report, dict):
        job_counts = {k: v for k, v in (report.get("jobs_by_status") or {}).items() if v}
        keys = {k: v for k, v in (report.get("keys_by_status") or {}).items() if v}
        calls = (report.get("api_calls") or {}).get("requests")
        out(f"   {report.get('status')}: keys {keys}, jobs {job_counts}")
        out(f"   {report.get('repositories_scanned')} repositories scanned with {calls} SWR requests")
        for region, lag in (report.get("lag") or {}).items():
            out(
                f"   replication lag to {region}: p50 {lag.get('p50_seconds')} s, max {lag.get('max_seconds')} s"
            )
    else:
        out(f"   HTTP {status}: {str(report)[:300]}")
    proof = report.get("replication") if isinstance(report, dict) else None
    if isinstance(proof, dict):
        out(
            f"   proof of replication (state store: {(report.get('state') or {}).get('backend')}): "
            f"{proof.get('verified')} verified, {proof.get('pending')} pending, {proof.get('missing')} missing"
        )
        for item in proof.get("settled") or []:
            out(f"   {item.get('key')}: {item.get('status')} ({item.get('reason')})")
    return proof


def _export_steps(gw: str, out: Out) -> None:
    """Steps 7 and 8: policy-export as CSV, then the drift of the policies against push-sync's rules."""
    out("7. policy-export (CSV) of the auto-sync policies in namespace demo:")
    status, _, body = _http(
        f"{gw}/policy-export?namespace={DEMO_NAMESPACE}&format=csv",
        headers={"Authorization": f"Bearer {DEMO_EXPORT_TOKEN}"},
    )
    for line in body.decode("utf-8", "replace").splitlines()[:6]:
        out(f"   {line}")
    out("8. drift of those policies against push-sync's rules (compare=rules):")
    status, _, body = _http(
        f"{gw}/policy-export?namespace={DEMO_NAMESPACE}&format=json&compare=rules",
        headers={"Authorization": f"Bearer {DEMO_EXPORT_TOKEN}"},
    )
    drift = (_json_or_text(body) or {}).get("drift") if status == 200 else None
    if isinstance(drift, dict):
        for kind in ("missing", "extra", "different"):
            for item in drift.get(kind) or []:
                where = f"{item.get('namespace')}/{item.get('repository')} → {item.get('remote_region_id')}/{item.get('remote_namespace')}"
                override = (
                    f"override desired {item.get('desired_override')}, actual {item.get('actual_override')}"
                )
                out(f"   {kind:<9} {where} ({override})")
    else:
        out(f"   HTTP {status}")


def _push(emulator: Any, repository: str, tag: str, out: Out) -> None:
    result = emulator.push(DEMO_NAMESPACE, repository, tag, region=SOURCE_REGION)
    for d in result.get("deliveries") or []:
        answer = d.get("response") if isinstance(d.get("response"), (dict, list)) else None
        out(f"   webhook ({d.get('format')}) → push-sync answered HTTP {d.get('status')}")
        for r in (answer or {}).get("results", []) if isinstance(answer, dict) else []:
            reason = f" ({r['reason']})" if r.get("reason") else ""
            out(f"   {r.get('namespace')}/{r.get('repository')}:{r.get('tag')} → {r.get('status')}{reason}")


def _redeliver(emulator: Any, gw: str, out: Out) -> None:
    deliveries = emulator.state.deliveries()
    if not deliveries or not deliveries[-1].get("payload"):
        out("   (no delivery to replay)")
        return
    last = deliveries[-1]
    _, _, body = _http(
        f"{gw}/push-sync",
        "POST",
        json.dumps(last["payload"]).encode(),
        {"Content-Type": "application/json", "Authorization": DEMO_WEBHOOK_SECRET},
    )
    answer = _json_or_text(body)
    for r in answer.get("results", []) if isinstance(answer, dict) else []:
        out(f"   {r.get('namespace')}/{r.get('repository')}:{r.get('tag')} → {r.get('status')}")
    calls = sum(1 for r in emulator.state.requests() if "sync_images" in r.get("path", ""))
    out(f"   SWR sync_images calls so far: {calls}")


def _http(
    url: str, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request to the gateway or the emulator; an error status is an answer, not an exception."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
