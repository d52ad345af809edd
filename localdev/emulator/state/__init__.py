"""The emulator's in-memory model: regions, namespaces, repositories, tags, sync jobs, auto-sync policies, tokens.

One module per resource, composed by :class:`EmulatorState` in ``container.py``; this is the public surface.
"""

from .accounts import TOKEN_LIFETIME, TokenRecord, User
from .common import (
    DEFAULT_REGIONS,
    Clock,
    Listing,
    StateError,
    fmt_time,
    parse_time,
    random_digest,
    stable_id,
    utcnow,
)
from .container import EmulatorState
from .fault_injection import JOB_OUTCOME_FAULTS, JobFault
from .jobs import FINAL_STATUSES, JOB_STATUSES, SyncJobRecord
from .logs import DELIVERY_LOG_MAX, REQUEST_LOG_MAX
from .persistence import STATE_VERSION
from .policies import SyncRepoRecord
from .repositories import NamespaceRecord, RegionData, RepoRecord, TagRecord
from .webhook_targets import Webhook

__all__ = [
    "DEFAULT_REGIONS",
    "DELIVERY_LOG_MAX",
    "FINAL_STATUSES",
    "JOB_OUTCOME_FAULTS",
    "JOB_STATUSES",
    "REQUEST_LOG_MAX",
    "STATE_VERSION",
    "TOKEN_LIFETIME",
    "Clock",
    "EmulatorState",
    "JobFault",
    "Listing",
    "NamespaceRecord",
    "RegionData",
    "RepoRecord",
    "StateError",
    "SyncJobRecord",
    "SyncRepoRecord",
    "TagRecord",
    "TokenRecord",
    "User",
    "Webhook",
    "fmt_time",
    "parse_time",
    "random_digest",
    "stable_id",
    "utcnow",
]
