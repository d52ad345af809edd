"""``swr-sync export``: the same export from a terminal, configured from the environment like the function.

    swr-sync export --namespace NS [--repository GLOB] [--remote-region R] [--format csv|json|ndjson]
                    [--compare rules] [--output FILE] > policies.csv

The whole export is written at once (no response-size limit, so no paging). Logs go to stderr (warnings only
unless ``--verbose``); a progress bar is drawn on stderr only when stderr is a terminal.

Exit status: 0 done; 1 the export failed (a namespace could not be listed, SWR unreachable); 2 usage or
configuration error; 3 written, but some repositories' policies could not be listed (see the errors in the
output); 4 drift found and ``--fail-on-drift`` given.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from typing import IO, Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_DRIFT = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swr-sync export",
        description="Export SWR auto-sync (sync_repo) policies of one or more namespaces.",
        epilog="Configuration comes from the environment (SWR_REGION/SWR_ENDPOINT, credentials, "
        "EXPORT_CONCURRENCY, SYNC_RULES...); see docs/policy-export.md.",
    )
    parser.add_argument(
        "-n", "--namespace", action="append", required=True, help="namespace (repeatable, or a,b)"
    )
    parser.add_argument(
        "-r", "--repository", action="append", default=[], help="repository name or glob (repeatable)"
    )
    parser.add_argument("--remote-region", action="append", default=[], help="only policies to this region")
    parser.add_argument(
        "-f", "--format", choices=("csv", "json", "ndjson"), help="default: from --output, else csv"
    )
    parser.add_argument(
        "--compare", choices=("rules",), help="add drift against SYNC_RULES / SYNC_RULES_FILE"
    )
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")
    parser.add_argument("--fail-on-drift", action="store_true", help="exit 4 when drift is found")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds")
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="default: if a TTY"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every decision (JSON lines on stderr)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    return parser


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if args.output:
        ext = os.path.splitext(args.output)[1].lower().lstrip(".")
        if ext in ("json", "csv", "ndjson"):
            return ext
        if ext == "jsonl":
            return "ndjson"
    return "csv"


class ProgressBar:
    """``\\r``-redrawn bar on a terminal stream; at most ~10 redraws a second."""

    def __init__(self, stream: IO[str], label: str = "policies", width: int = 30) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} repositories")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


# Over 60 lines on purpose: one linear CLI flow (arguments, settings, export, output); 11 of its lines are the
# imports kept inside it so the terminal command's --help starts fast.
def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return int(exit_.code or 0)
    err = sys.stderr

    from functions.policy_export.export import build_meta, drift_against, run_export
    from functions.policy_export.params import ParamError, parse_query
    from functions.policy_export.render import build_document, render_page
    from functions.policy_export.rulesource import rules_for
    from functions.policy_export.scope import ScopeError
    from functions.policy_export.settings import ExportSettings
    from shared.logs import logs
    from shared.runtime.config import env_lookup, load_settings
    from shared.runtime.connect import connect
    from shared.swr.errors import ConfigError, SwrSyncError

    level = "INFO" if args.verbose else (os.environ.get("LOG_LEVEL") or "WARNING")
    logs.configure(level, stream=err)  # stdout carries the data
    raw: dict[str, list[str]] = {"namespace": args.namespace, "format": [_format(args)]}
    if args.repository:
        raw["repository"] = args.repository
    if args.remote_region:
        raw["remote_region"] = args.remote_region
    if args.compare:
        raw["compare"] = [args.compare]
    try:
        query = parse_query(raw)
    except ParamError as problem:
        for name, text in problem.problems.items():
            print(f"swr-sync export: --{name.replace('_', '-')}: {text}", file=err)
        return EXIT_USAGE
    try:
        settings = load_settings(ExportSettings, env_lookup())
        if query.compare_rules and not settings.rules_configured:
            raise ConfigError(["SYNC_RULES: required for --compare rules (or SYNC_RULES_FILE)"])
        rules = rules_for(settings) if query.compare_rules else None
        remaining_ms = args.timeout * 1000 if args.timeout else None
        client = connect(settings, remaining_ms)
    except ConfigError as problem:
        print("swr-sync export: invalid configuration:", file=err)
        for text in problem.problems:
            print(f"  - {text}", file=err)
        return EXIT_USAGE

    show_progress = err.isatty() if args.progress is None else args.progress
    bar = ProgressBar(err) if show_progress else None
    try:
        result = run_export(client, query, settings.concurrency, settings.repo_page_size, bar)
    except ScopeError as failure:
        if bar:
            bar.close()
        print(f"swr-sync export: {failure.message}", file=err)
        return EXIT_FAILED
    except SwrSyncError as failure:
        if bar:
            bar.close()
        print(f"swr-sync export: {failure}", file=err)
        return EXIT_FAILED
    if bar:
        bar.close()

    drift = drift_against(result, rules, query) if rules is not None else None
    meta = build_meta(query, result, settings.source_region(), datetime.now(timezone.utc))
    doc = build_document(query.format, result, meta, drift)
    page = render_page(doc, 0, None, None, lambda _offset: "")
    if not _write(args.output, page.body, err):
        return EXIT_FAILED
    return _summarise(args, query, result, drift, err)


def _write(output: str | None, body: str, err: Any) -> bool:
    """The export to ``--output`` or stdout; False (said on stderr) if it cannot be written."""
    data = body.encode("utf-8")
    try:
        if output:
            with open(output, "wb") as out:
                out.write(data)
        else:
            stream = getattr(sys.stdout, "buffer", None)
            if stream is not None:
                stream.write(data)
                stream.flush()
            else:
                sys.stdout.write(body)
                sys.stdout.flush()
    except OSError as failure:
        print(f"swr-sync export: cannot write output: {failure.strerror or failure}", file=err)
        return False
    return True


def _summarise(args: argparse.Namespace, query: Any, result: Any, drift: Any, err: Any) -> int:
    """The summary on stderr and the exit status (errors, then drift with --fail-on-drift)."""
    if not args.quiet:
        summary = (
            f"swr-sync export: {len(result.policies)} policies from {len(result.repositories)} repositories "
            f"in {len(query.namespaces)} namespace(s)"
        )
        if drift is not None:
            summary += f"; drift: {drift.summary()['missing']} missing, {len(drift.extra)} extra, {len(drift.different)} different"
        if result.errors:
            summary += f"; {len(result.errors)} repositories could not be listed"
        print(summary, file=err)
    for error in result.errors[:20]:
        print(f"  error: {error.summary()}", file=err)
    if len(result.errors) > 20:
        print(f"  ... and {len(result.errors) - 20} more (see the output)", file=err)
    if result.errors:
        return EXIT_PARTIAL
    if drift is not None and args.fail_on_drift and not drift.in_sync:
        return EXIT_DRIFT
    return EXIT_OK
