"""Reproducible zips and tree statistics.

Same tree in, same bytes out: entries sorted by path, every timestamp 1980-01-01 00:00, permissions 0644 for
files and 0755 for directories, Unix host, no extra fields, deflate level 9, no archive comment.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
DIR_MODE = 0o040755


@dataclass(frozen=True)
class TreeStats:
    files: int
    unpacked_bytes: int


def walk(root: Path) -> list[tuple[str, Path | None]]:
    """Sorted (archive name, file path) pairs under ``root``; directories have ``None`` and a trailing ``/``."""
    entries: list[tuple[str, Path | None]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        if rel_dir != ".":
            entries.append((rel_dir + "/", None))
        for name in filenames:
            path = base / name
            if path.is_symlink():
                raise ValueError(f"refusing to package a symlink: {path}")
            rel = path.relative_to(root).as_posix()
            entries.append((rel, path))
    entries.sort(key=lambda e: e[0])
    return entries


def tree_stats(root: Path) -> TreeStats:
    files = [p for _, p in walk(root) if p is not None]
    return TreeStats(len(files), sum(p.stat().st_size for p in files))


def write_zip(root: Path, dest: Path) -> None:
    """Zip the tree under ``root`` into ``dest`` reproducibly (written to a temp name, then renamed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, path in walk(root):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.create_system = 3  # Unix, so external_attr carries the mode bits
            if path is None:
                info.external_attr = (DIR_MODE << 16) | 0x10  # 0x10: MS-DOS directory flag
                info.compress_type = zipfile.ZIP_STORED
                zf.writestr(info, b"")
            else:
                info.external_attr = FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes(), compresslevel=9)
    os.replace(tmp, dest)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
