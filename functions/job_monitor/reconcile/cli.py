"""``swr-sync reconcile``: bring the target regions up to date with what the rules select, plan first.

    swr-sync reconcile [--dry-run] [--json] [--repo NS/REPO]... [--namespace NS]...   # prints the plan
    swr-sync reconcile --apply [--max-calls N] [--timeout S] [--state FILE]           # syncs the difference

Configured from the environment like the functions (SWR_REGION/SWR_ENDPOINT, credentials, SYNC_RULES or
SYNC_RULES_FILE, SWR_ENDPOINT_TEMPLATE for the other regions). Without ``--repo``/``--namespace`` the
repositories are those the rules select. ``--apply`` remembers what it triggered and where it stopped in
``--state`` (default ``.swr-sync/reconcile-state.json``), so a run cut by ``--max-calls`` or ``--timeout``
continues next time without syncing anything twice.

Exit status: 0 done (plan printed, or everything applied); 1 failed; 2 usage or configuration error; 3 partial
(some repositories could not be listed, or the run stopped at its budget: run again to continue).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from functions.job_monitor.reconcile.run import Outcome, Repo

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
DEFAULT_STATE = Path(".swr-sync") / "reconcile-state.json"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="swr-sync reconcile", description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the plan only (the default)")
    mode.add_argument("--apply", action="store_true", help="sync the missing tags")
    p.add_argument("--json", action="store_true", help="the plan and outcome as JSON on stdout")
    p.add_argument("--repo", action="append", default=[], help="NS/REPO instead of the rules' selection")
    p.add_argument("--namespace", action="append", default=[], help="every repository of NS the rules cover")
    p.add_argument("--max-calls", type=int, default=1000, help="sync_images calls at most (default 1000)")
    p.add_argument("--timeout", type=float, help="stop after this many seconds (resumable)")
    p.add_argument("--state", type=Path, default=DEFAULT_STATE, help="where --apply keeps its progress")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="default: a TTY")
    return p


class FileMemo:
    """The reconcile memo in a JSON file (expiry per key), written after every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        now = time.time()
        self.data: dict[str, list[Any]] = {
            k: v
            for k, v in (data.items() if isinstance(data, dict) else [])
            if isinstance(v, list) and len(v) == 2 and isinstance(v[1], (int, float)) and v[1] > now
        }

    def get(self, key: str) -> str | None:
        value = self.data.get(key)
        return str(value[0]) if value and value[1] > time.time() else None

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        self.data[key] = [value, time.time() + ttl_seconds]
        self._save()

    def delete(self, key: str) -> None:
        if self.data.pop(key, None) is not None:
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data), encoding="utf-8")
        tmp.replace(self.path)


class Bar:
    """Repositories done / total and calls made, redrawn on a terminal at most ~10 times a second."""

    def __init__(self, stream: IO[str], width: int = 30) -> None:
        self.stream, self.width, self._last, self._drawn = stream, width, 0.0, False

    def __call__(self, done: int, total: int, calls: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last, self._drawn = now, True
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\rreconcile [{bar}] {done}/{total} repositories, {calls} sync calls")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")


def table(outcome: Outcome) -> str:
    """The plan per repository and target: tags to sync (first few), present, skipped."""
    rows = [("repository", "target", "to sync", "present", "tags")]
    for plan in outcome.plans:
        full = f"{plan.namespace}/{plan.repository}"
        if plan.error:
            rows.append((full, "-", "?", "?", f"error: {plan.error}"))
        for tp in plan.targets:
            target = f"{tp.target.region}/{tp.target.namespace}" + (
                " (override)" if tp.target.override else ""
            )
            shown = ", ".join(tp.to_sync[:6]) + (f", +{len(tp.to_sync) - 6}" if len(tp.to_sync) > 6 else "")
            rows.append((full, target, str(len(tp.to_sync)), str(tp.present), shown or "up to date"))
            if tp.skipped:
                tag, why = next(iter(tp.skipped.items()))
                more = f" (+{len(tp.skipped) - 1} more)" if len(tp.skipped) > 1 else ""
                rows.append((full, target, "", "", f"skipped {tag}: {why}{more}"))
        if plan.skipped:
            first = next(iter(plan.skipped.items()))
            rows.append(
                (full, "(skipped)", "", "", f"{len(plan.skipped)} tag(s), e.g. {first[0]}: {first[1]}")
            )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(lines)


def summary(outcome: Outcome) -> str:
    text = (
        f"reconcile ({outcome.mode}): {outcome.planned}/{outcome.repositories} repositories planned, "
        f"{outcome.to_sync} tag(s) to sync, {outcome.already_triggered} already triggered, "
        f"{outcome.calls} sync call(s), {outcome.triggered} triggered, {outcome.listings} listing request(s)"
    )
    if outcome.stopped:
        text += f"; stopped by its {outcome.stopped}: run again to continue"
    if outcome.errors:
        text += f"; {len(outcome.errors)} repository(ies) could not be planned"
    if outcome.failed:
        text += f"; {len(outcome.failed)} call(s) failed"
    return text


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    err = sys.stderr
    from functions.job_monitor.reconcile.run import MemoryMemo, reconcile
    from functions.job_monitor.reconcile.wiring import ReconcileSettings, clients, select_repos
    from shared.logs import logs
    from shared.runtime.config import env_lookup, load_settings
    from shared.swr.errors import ConfigError, SwrSyncError
    from shared.swr.http import Deadline

    logs.configure(os.environ.get("LOG_LEVEL") or "WARNING", stream=err)
    try:
        settings = load_settings(ReconcileSettings, env_lookup())
        explicit = [Repo(*r.split("/", 1)) for r in args.repo if "/" in r]
        if len(explicit) != len(args.repo):
            raise ConfigError(["--repo: expected NAMESPACE/REPOSITORY"])
        source, target_client = clients(settings, args.timeout * 1000 if args.timeout else None)
    except ConfigError as problem:
        print("swr-sync reconcile: invalid configuration:", file=err)
        for text in problem.problems:
            print(f"  - {text}", file=err)
        return EXIT_USAGE
    bar = Bar(err) if (err.isatty() if args.progress is None else args.progress) else None
    try:
        repos = explicit or select_repos(source, settings.rules, args.namespace)
        outcome = reconcile(
            repos,
            settings.rules,
            source,
            target_client,
            apply=args.apply,
            memo=FileMemo(args.state) if args.apply else MemoryMemo(),
            deadline=Deadline(args.timeout),
            max_calls=args.max_calls,
            source_region=settings.swr_region,
            progress=bar,
        )
    except SwrSyncError as failure:
        print(f"swr-sync reconcile: {failure}", file=err)
        return EXIT_FAILED
    finally:
        if bar:
            bar.close()
    if args.json:
        sys.stdout.write(json.dumps(outcome.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(table(outcome) + "\n")
    sys.stdout.flush()  # the table before the summary, whatever the streams are
    print(summary(outcome), file=err)
    return EXIT_PARTIAL if not outcome.complete else EXIT_OK
