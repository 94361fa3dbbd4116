"""Shared helpers for live network sources: a bounded retry with exponential backoff.

Each source keeps its own transport (ccxt's `requests` session for the exchanges) so tests can swap it;
what is shared is the rule for a refused call: wait, try again a bounded number of times, then give up
and let the source report it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """At most `attempts` tries in all; before try k+1 wait `first_delay_s` x `factor`**(k-1) seconds,
    capped at `max_delay_s`. `sleep` is swappable (tests record the waits instead of sleeping)."""

    attempts: int = 4
    first_delay_s: float = 1.0
    factor: float = 2.0
    max_delay_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> list[float]:
        """The waits between tries, seconds (attempts - 1 of them)."""
        return [min(self.first_delay_s * self.factor**k, self.max_delay_s) for k in range(self.attempts - 1)]

    def call(self, fn: Callable[[], T], retry_if: Callable[[Exception], bool], what: str = "call") -> T:
        """`fn()`, tried again after each exception for which `retry_if` is true; the last one propagates."""
        for k, delay in enumerate(self.delays(), start=1):
            try:
                return fn()
            except Exception as exc:
                if not retry_if(exc):
                    raise
                log.info("%s refused (try %d of %d: %s); retrying in %.3g s", what, k, self.attempts, exc, delay)
                self.sleep(delay)
        return fn()
