"""A request the engine rolled back to break a deadlock is sent again.

SQLSTATE 40001 (serialization failure) is how an engine says it chose a transaction as a
deadlock victim and rolled it back: the client is to run it again. Virtuoso at serializable
isolation (how our readers must see a switch: server/store/virtuoso.py) picks writers that
meet readers' locks (its SR172), so the publisher's requests are retried, those that do the
same when repeated after a rollback only.
"""

import random
import time
from collections.abc import Callable
from typing import TypeVar

SQLSTATE = "40001"
ATTEMPTS = 8  # in all
PAUSE = 0.1  # seconds before the second attempt, doubled for each further one (~13 s in all)
T = TypeVar("T")


def retried(call: Callable[[], T], victim: Callable[[Exception], bool]) -> T:
    """call(), again after a growing, jittered pause while it fails with an error that
    `victim` recognizes; the last error after ATTEMPTS."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return call()
        except Exception as error:
            if attempt == ATTEMPTS or not victim(error):
                raise
        time.sleep(PAUSE * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")
