"""A request the engine rolled back to break a deadlock is sent again.

SQLSTATE 40001 (serialization failure) is how an engine says it chose a transaction as a
deadlock victim and rolled it back: the client is to run it again. Virtuoso at serializable
isolation (how our readers must see a switch: server/store/virtuoso.py) picks writers that
meet readers' locks (its SR172), so the publisher's requests are retried, those that do the
same when repeated after a rollback only; a reader it picks (not seen so far) is retried by
the remote store within the query's time limit.
"""

import random
import re
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

SQLSTATE = "40001"
SQLSTATE_WORD = re.compile(rf"\b{SQLSTATE}\b")
ATTEMPTS = 8  # in all
PAUSE = 0.1  # seconds before the second attempt, doubled for each further one (~13 s in all)
T = TypeVar("T")


def pauses() -> Iterator[float]:
    """The pause before each attempt after the first: ATTEMPTS - 1 of them, each about twice
    the one before (jittered, so that the requests rolled back together do not meet again)."""
    for attempt in range(1, ATTEMPTS):
        yield PAUSE * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)


def retried(
    call: Callable[[], T], victim: Callable[[Exception], bool], deadline: float | None = None
) -> T:
    """call(), again after a pause while it fails with an error that `victim` recognizes;
    that error once the attempts are used up, or once the next pause would pass `deadline`
    (a time.monotonic() value)."""
    waits = pauses()
    while True:
        try:
            return call()
        except Exception as error:
            if not victim(error):
                raise
            pause = next(waits, None)
            if pause is None or (deadline is not None and time.monotonic() + pause >= deadline):
                raise
        time.sleep(pause)


def reported_in(message: str) -> bool:
    """The engine's error message gives the deadlock's SQLSTATE."""
    return SQLSTATE_WORD.search(message) is not None
