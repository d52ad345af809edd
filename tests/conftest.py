"""Project-wide fixtures: an in-process SWR + IAM emulator (see docs/emulator.md).

``emulator`` is function-scoped and started on a free loopback port. It accepts the static token
``EMULATOR_TOKEN`` and the AK/SK pair ``EMULATOR_AK``/``EMULATOR_SK``; the IAM user is ``demo`` /
``demo-password`` in domain ``demo-domain``. Region ``cn-north-4`` (default) is served at ``emulator.url``;
every region under ``emulator.region_url(region)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localdev.emulator import Emulator

EMULATOR_TOKEN = "emulator-test-token"
EMULATOR_AK = "EMULATORTESTAK"
EMULATOR_SK = "emulator-test-sk"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    from shared.swr.auth import clear_token_cache

    emu = Emulator(port=0, static_tokens=(EMULATOR_TOKEN,), aksk={EMULATOR_AK: EMULATOR_SK})
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
        clear_token_cache()  # IAM tokens cached by shared.swr.auth must not leak into the next emulator


@pytest.fixture
def emulator_url(emulator: Emulator) -> str:
    """Base URL of the emulator's default region."""
    return emulator.url


@pytest.fixture
def emulator_token() -> str:
    """A static token the ``emulator`` fixture always accepts."""
    return EMULATOR_TOKEN
