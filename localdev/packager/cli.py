"""``swr-sync package``: build FunctionGraph zips and OpenFaaS handler folders, then report their sizes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localdev.packager.build import Options, build
from localdev.packager.sizes import size_table
from localdev.packager.sources import FUNCTIONS, PROJECT_ROOT
from localdev.packager.wheels import ARCHES, PackagingError, Target


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="swr-sync package",
        description=(
            "Build one FunctionGraph code zip per function (entry index.handler at the zip root), the same tree "
            "unpacked for Serverless Devs, and one OpenFaaS python3-http handler folder per function; write a "
            "size report to OUT/sizes.json. Same sources + same lock => byte-identical zips."
        ),
    )
    p.add_argument("--python", default="3.12", help="target CPython version, X.Y (FunctionGraph: 3.10, 3.12)")
    p.add_argument("--arch", default="x86_64", choices=sorted(ARCHES), help="target CPU architecture")
    p.add_argument(
        "--out", type=Path, default=PROJECT_ROOT / "dist", help="output directory (default: dist/)"
    )
    p.add_argument(
        "--function",
        action="append",
        dest="functions",
        metavar="NAME",
        help=f"build only this function (repeatable; one of {', '.join(FUNCTIONS)}; default: all)",
    )
    p.add_argument(
        "--deps",
        default="bundled",
        choices=("bundled", "layer"),
        help="bundled (default): dependencies inside each code zip; layer: one separate FunctionGraph "
        "dependency-package zip, code zips without dependencies",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=PROJECT_ROOT / "build" / "wheels",
        help="wheel cache, one sub-directory per target (default: build/wheels/)",
    )
    p.add_argument(
        "--compile-with",
        metavar="PYTHON",
        help="CPython X.Y interpreter used to write .pyc files (default: this interpreter if it is X.Y, "
        "else pythonX.Y on PATH; without one the zips carry sources only)",
    )
    p.add_argument("--no-compile", action="store_true", help="do not ship .pyc files")
    p.add_argument(
        "--dep-sources",
        action="store_true",
        help="also ship the dependencies' .py sources (default when compiling: their byte-code only, "
        "as x.pyc; the project's own code always ships with its sources)",
    )
    p.add_argument(
        "--extra",
        action="append",
        default=[],
        choices=["redis"],
        help="also ship an optional runtime extra: redis (redis-py, for STATE_REDIS_URL); repeatable",
    )
    p.add_argument("--offline", action="store_true", help="never run pip: every wheel must be cached already")
    return p


def options(args: argparse.Namespace, functions: list[str] | None = None) -> Options:
    """The build options of parsed arguments (``functions``: the default when none is named)."""
    aliases = {pkg: name for name, pkg in FUNCTIONS.items()}
    names = [aliases.get(f, f) for f in (args.functions or functions or list(FUNCTIONS))]
    return Options(
        target=Target(args.python, args.arch),
        out=args.out.resolve(),
        functions=list(dict.fromkeys(names)),
        deps=args.deps,
        cache_dir=args.cache_dir.resolve(),
        compile_with=args.compile_with,
        compile=not args.no_compile,
        dep_sources=args.dep_sources,
        offline=args.offline,
        extras=list(dict.fromkeys(args.extra)),
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        opts = options(args)
        result = build(opts)
    except PackagingError as err:
        print(f"swr-sync package: {err}", file=sys.stderr)
        return 1
    print(
        f"target CPython {result.target.python} {result.target.platform}; dependencies {result.deps}; "
        f".pyc {'compiled (' + result.compiled_with + ')' if result.compiled_with else 'not shipped'}"
    )
    print(size_table(result))
    print(f"size report: {opts.out / 'sizes.json'}")
    return 0
