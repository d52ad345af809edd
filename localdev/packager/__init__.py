"""``swr-sync package``: FunctionGraph code zips (+ optional dependency package) and OpenFaaS handler folders.

See :mod:`localdev.packager.build` for the artifact layout and docs/deploy.md for how they are deployed.
"""

from localdev.packager.cli import main

__all__ = ["main"]
