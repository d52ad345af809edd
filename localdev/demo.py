"""The local stack's demo: its regions, namespace, fixed credentials, sync rule, the functions' environment, and
the data it seeds into the emulator."""

from __future__ import annotations

import json
import os
from typing import Any

SOURCE_REGION = "cn-north-4"
TARGET_REGION = "ap-southeast-1"
DEMO_NAMESPACE = "demo"
# Fixed, documented demo credentials: the local stack is ephemeral and loopback-only.
DEMO_WEBHOOK_SECRET = "local-webhook-secret"
DEMO_EXPORT_TOKEN = "local-export-token"
DEMO_MONITOR_TOKEN = "local-monitor-token"
DEMO_RULES = [
    {
        "name": "demo-to-singapore",
        "namespace": DEMO_NAMESPACE,
        "repository": "**",
        "tags": {"exclude": [".*-dev"]},
        "targets": [{"region": TARGET_REGION, "namespace": DEMO_NAMESPACE, "override": False}],
    }
]


def stack_environment(emulator_url: str) -> dict[str, str]:
    """What the three functions are configured with in the local stack (IAM password auth, like production)."""
    return {
        "SWR_REGION": SOURCE_REGION,
        "SWR_ENDPOINT": emulator_url,
        # The emulator serves every region under /regions/{region}: job-monitor reads the target's tags there.
        "SWR_ENDPOINT_TEMPLATE": emulator_url + "/regions/{region}",
        "IAM_ENDPOINT": emulator_url,
        "IAM_USERNAME": "demo",
        "IAM_PASSWORD": "demo-password",
        "IAM_DOMAIN": "demo-domain",
        "WEBHOOK_SECRET": DEMO_WEBHOOK_SECRET,
        "EXPORT_TOKEN": DEMO_EXPORT_TOKEN,
        "MONITOR_TOKEN": DEMO_MONITOR_TOKEN,
        "SYNC_RULES": json.dumps(DEMO_RULES),
        "MONITOR_NAMESPACES": DEMO_NAMESPACE,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }


def seed(state: Any, push_url: str) -> None:
    """The demo namespace in both regions, two images, two auto-sync policies and push-sync's webhook.

    ``state`` is the emulator's :class:`localdev.emulator.state.EmulatorState`."""
    for region in (SOURCE_REGION, TARGET_REGION):
        state.add_namespace(DEMO_NAMESPACE, region)
    state.add_image(DEMO_NAMESPACE, "team/web", "v0.9", region=SOURCE_REGION)
    state.add_image(DEMO_NAMESPACE, "team/api", "v2.0", region=SOURCE_REGION)
    # Two auto-sync policies, so the export has rows and drift has something to say.
    state.add_sync_repo(DEMO_NAMESPACE, "team/web", TARGET_REGION, DEMO_NAMESPACE, True, False, SOURCE_REGION)
    state.add_sync_repo(DEMO_NAMESPACE, "team/api", TARGET_REGION, DEMO_NAMESPACE, True, True, SOURCE_REGION)
    state.add_webhook(push_url, "harbor", {"Authorization": DEMO_WEBHOOK_SECRET})
