"""The whole state as data: the admin snapshot, and the state file (dump, save, load) that survives a restart."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from .accounts import TokenRecord
from .common import StateError, fmt_time
from .jobs import SyncJobRecord
from .logs import LogsMixin
from .policies import PoliciesMixin, SyncRepoRecord
from .repositories import NamespaceRecord, RegionData, RepoRecord, TagRecord
from .webhook_targets import Webhook, WebhookTargetsMixin

STATE_VERSION = 1


class PersistenceMixin(PoliciesMixin, WebhookTargetsMixin, LogsMixin):
    """Reads every resource; :meth:`load` rebuilds them from a file written by :meth:`save`."""

    def snapshot(self, include_requests: bool = True) -> dict[str, Any]:
        with self.lock:
            self.advance()
            namespaces = []
            repositories = []
            tags = []
            for region, data in self.data.items():
                for ns in data.namespaces.values():
                    namespaces.append(
                        {"region": region, "id": ns.id, "name": ns.name, "creator_name": ns.creator_name}
                    )
                for repo in data.repos.values():
                    repositories.append(
                        {
                            "region": region,
                            "namespace": repo.namespace,
                            "name": repo.name,
                            "tags": {t.tag: t.digest for t in repo.tags.values()},
                        }
                    )
                    for t in repo.tags.values():
                        tags.append(
                            {
                                "region": region,
                                "namespace": repo.namespace,
                                "repository": repo.name,
                                "tag": t.tag,
                                "digest": t.digest,
                                "size": t.size,
                            }
                        )
            return {
                "regions": list(self.regions),
                "default_region": self.default_region,
                "now": fmt_time(self.now()),
                "namespaces": namespaces,
                "repositories": repositories,
                "tags": tags,
                "sync_jobs": self.jobs,
                "sync_repos": self.sync_repos,
                "webhooks": self.webhooks,
                "deliveries": self.deliveries,
                "faults": [f.describe() for f in self.faults],
                "requests": self.requests if include_requests else [],
            }

    def dump(self) -> dict[str, Any]:
        """Everything that survives a restart (not faults, logs or deliveries)."""
        with self.lock:
            regions = {}
            for region, data in self.data.items():
                regions[region] = {
                    "namespaces": [
                        {
                            "id": n.id,
                            "name": n.name,
                            "creator_name": n.creator_name,
                            "created": n.created.isoformat(),
                        }
                        for n in data.namespaces.values()
                    ],
                    "repositories": [
                        {
                            "namespace": r.namespace,
                            "name": r.name,
                            "created": r.created.isoformat(),
                            "updated": r.updated.isoformat(),
                            "category": r.category,
                            "description": r.description,
                            "is_public": r.is_public,
                            "tags": [
                                {
                                    "tag": t.tag,
                                    "digest": t.digest,
                                    "size": t.size,
                                    "created": t.created.isoformat(),
                                    "updated": t.updated.isoformat(),
                                }
                                for t in r.tags.values()
                            ],
                        }
                        for r in data.repos.values()
                    ],
                }
            return {
                "version": STATE_VERSION,
                "regions": regions,
                "sync_jobs": [_dump_dc(j) for j in self._jobs.values()],
                "pending": sorted(self._pending),
                "sync_repos": [_dump_dc(p) for p in self._sync_repos.values()],
                "webhooks": [_dump_dc(w) for w in self._webhooks.values()],
                "tokens": [_dump_dc(t) for t in self.tokens.values()],
                "counters": dict(self._counters),
            }

    def save(self, path: str | os.PathLike[str]) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(self.dump(), indent=1, sort_keys=True))
        os.replace(tmp, target)

    def load(self, path: str | os.PathLike[str]) -> None:
        raw = json.loads(Path(path).read_text())
        if raw.get("version") != STATE_VERSION:
            raise StateError(f"unsupported state file version {raw.get('version')!r}")
        with self.lock:
            self._clear()
            for region, rd in raw.get("regions", {}).items():
                if region not in self.data:
                    self.data[region] = RegionData()
                    self.regions = (*self.regions, region)
                data = self.data[region]
                for n in rd.get("namespaces", []):
                    data.namespaces[n["name"]] = NamespaceRecord(
                        n["id"], n["name"], n["creator_name"], datetime.fromisoformat(n["created"])
                    )
                for r in rd.get("repositories", []):
                    repo = RepoRecord(
                        r["namespace"],
                        r["name"],
                        datetime.fromisoformat(r["created"]),
                        datetime.fromisoformat(r["updated"]),
                        category=r.get("category", "other"),
                        description=r.get("description", ""),
                        is_public=r.get("is_public", False),
                    )
                    for t in r.get("tags", []):
                        repo.tags[t["tag"]] = TagRecord(
                            t["tag"],
                            t["digest"],
                            t["size"],
                            datetime.fromisoformat(t["created"]),
                            datetime.fromisoformat(t["updated"]),
                        )
                    data.repos[(repo.namespace, repo.name)] = repo
            for j in raw.get("sync_jobs", []):
                job = SyncJobRecord(**_load_dc(j))
                self._index_job(job)
            self._pending = set(raw.get("pending", []))
            for p in raw.get("sync_repos", []):
                policy = SyncRepoRecord(**_load_dc(p))
                self._sync_repos[policy.id] = policy
            for w in raw.get("webhooks", []):
                hook = Webhook(**w)
                self._webhooks[hook.id] = hook
            for t in raw.get("tokens", []):
                token = TokenRecord(**_load_dc(t))
                self.tokens[token.token] = token
            self._counters.update(raw.get("counters", {}))
            self._dirty = False


_TIME_FIELDS = {"created_at", "updated_at", "forced_at", "finished_at", "issued_at", "expires_at"}


def _dump_dc(obj: Any) -> dict[str, Any]:
    out = {}
    for key, value in vars(obj).items():
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _load_dc(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (datetime.fromisoformat(v) if k in _TIME_FIELDS and isinstance(v, str) else v)
        for k, v in raw.items()
    }
