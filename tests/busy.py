"""A full server in tests: every free training slot taken, as other sessions' jobs would take them."""
from __future__ import annotations

from contextlib import contextmanager

from engine.jobs import SLOTS


@contextmanager
def every_slot_busy():
    """Take every free slot of engine.jobs.SLOTS; yields the tickets (release one to free its slot early); all are
    given back when the block ends."""
    taken = []
    try:
        while SLOTS.free:
            taken.append(SLOTS.request())
        yield taken
    finally:
        for ticket in taken:
            ticket.release()
