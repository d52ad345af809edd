"""SWR + IAM emulator: a local, multi-region stand-in for Huawei Cloud SWR's manage API and IAM tokens.

Usage::

    from localdev.emulator import Emulator

    with Emulator(static_tokens=("t",)) as emu:
        emu.state.add_image("ns1", "group/app", "v1")
        ...  # point SWR_ENDPOINT at emu.url or emu.region_url("ap-southeast-1")

See docs/emulator.md.
"""

from .faults import Fault
from .server import DEFAULT_REGIONS, Emulator
from .state import JOB_STATUSES, EmulatorState, StateError

__all__ = ["DEFAULT_REGIONS", "JOB_STATUSES", "Emulator", "EmulatorState", "Fault", "StateError"]
