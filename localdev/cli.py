"""``swr-sync``: one console script, subcommands loaded lazily so each stays cheap to start."""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, one-line help). Each module exposes ``main(argv: list[str]) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "emulator": ("localdev.emulator.cli", "run the SWR + IAM emulator"),
    "invoke": ("localdev.invoke", "run one function's handler with an event file"),
    "local": ("localdev.local_stack", "run the whole product locally against the emulator"),
    "export": ("functions.policy_export.cli", "export auto-sync policies from a terminal"),
    "health-link": ("functions.job_monitor.health.cli", "a signed, expiring link to the health page"),
    "reconcile": ("functions.job_monitor.reconcile.cli", "plan (and --apply) the sync of existing images"),
    "package": ("localdev.packager", "build FunctionGraph zips and OpenFaaS handler folders"),
}


def _usage() -> str:
    lines = ["usage: swr-sync COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"swr-sync: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[name][0])
    except ModuleNotFoundError as err:
        print(f"swr-sync: command {name!r} is not available ({err.name} missing)", file=sys.stderr)
        return 2
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
