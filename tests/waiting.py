"""Waiting for a background thread in tests: poll until it happens; pytest-timeout (pytest.ini) guards a hang."""
from __future__ import annotations

import time


def wait_until(predicate) -> None:
    while not predicate():
        time.sleep(0.01)
