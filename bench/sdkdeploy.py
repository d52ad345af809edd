"""The SDK's minimal deploy set, measured: what a function using ``huaweicloudsdkswr`` must ship.

The files (from each distribution's RECORD) of huaweicloudsdkswr and its transitive runtime requirements in the
SDK venv — huaweicloudsdkcore, requests, urllib3, pymongo/bson, ... — without pip/setuptools, console scripts
or anything outside site-packages; zipped like a deploy package (ZIP_DEFLATED, level 9).
"""

from __future__ import annotations

import importlib.metadata as md
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT_DIST = "huaweicloudsdkswr"
NEVER = {"pip", "setuptools", "wheel"}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass
class DeploySet:
    distributions: list[str]
    files: list[str]  # relative to site-packages
    unpacked_bytes: int
    zip_bytes: int
    with_pyc: bool


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: md.Distribution) -> list[str]:
    """Runtime requirements (extras-only ones skipped; other markers evaluated when `packaging` is around)."""
    out = []
    for text in dist.requires or []:
        try:
            from packaging.requirements import Requirement

            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            out.append(_norm(req.name))
        except ImportError:  # pragma: no cover - packaging comes with the dev tools
            if "extra ==" in text:
                continue
            match = _NAME.match(text)
            if match:
                out.append(_norm(match.group(1)))
    return out


def measure(site_packages: str | Path, with_pyc: bool = False) -> DeploySet:
    site = Path(site_packages)
    dists = {_norm(d.metadata["Name"]): d for d in md.distributions(path=[str(site)])}
    todo, seen = [_norm(ROOT_DIST)], set()
    while todo:
        name = todo.pop()
        if name in seen or name in NEVER:
            continue
        if name not in dists:
            raise FileNotFoundError(f"{name} is required by the SDK but not installed in {site}")
        seen.add(name)
        todo.extend(_requirements(dists[name]))
    files: set[str] = set()
    for name in seen:
        for entry in dists[name].files or []:
            rel = str(entry)
            if rel.startswith("..") or rel.startswith("/"):
                continue  # console scripts in bin/: not part of a deploy package
            is_pyc = "__pycache__" in rel or rel.endswith(".pyc")
            if is_pyc and not with_pyc:
                continue
            if (site / rel).is_file():
                files.add(rel)
    ordered = sorted(files)
    unpacked = sum((site / rel).stat().st_size for rel in ordered)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for rel in ordered:
            zf.write(site / rel, rel)
    return DeploySet(sorted(seen), ordered, unpacked, len(buf.getvalue()), with_pyc)
