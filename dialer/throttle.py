"""Password guessing slowed down: failed checks counted per account and per source address.

Every place that checks a password (an operator opening a session over the API, a softphone's digest
registration with the built-in registrar, the web sign-in to come) asks :meth:`Throttle.wait` first
and reports each failure. After ``free`` failures for a key, the next attempt on that key must wait
``base`` seconds, the wait doubling with each further failure up to ``cap`` seconds. Keys are
``account:<login>`` and ``address:<ip>``: one address guessing many accounts and many addresses
guessing one account are both slowed. An address gets ``free_per_address`` failures, since an office
behind one NAT is many people who mistype. Unknown accounts are counted exactly like known ones: the
answers never tell whether an account exists. A success clears the account's count (not the
address's: a guesser who owns one account must not reset the address with it). Failures are
forgotten after ``forget`` quiet seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)


@dataclass
class _Record:
    failures: int
    last: float
    until: float


class Throttle:
    """Counts failed password checks per key and says how long the next attempt must wait."""

    def __init__(
        self,
        *,
        free: int = 5,
        free_per_address: int = 20,
        base: float = 1.0,
        cap: float = 900.0,
        forget: float = 900.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min(free, free_per_address) < 1 or base <= 0 or cap < base or forget <= 0 or max_keys < 1:
            raise ValueError("need free >= 1, 0 < base <= cap, forget > 0, max_keys >= 1")
        self.free, self.base, self.cap, self.forget = free, base, cap, forget
        self.free_per_address = free_per_address
        self.max_keys = max_keys
        self.clock = clock
        self._records: dict[str, _Record] = {}

    @staticmethod
    def keys(account: str, address: str | None) -> tuple[str, ...]:
        """The keys of an attempt on ``account`` from ``address``."""
        account_key = f"account:{account.strip().lower()}"
        return (account_key,) if not address else (account_key, f"address:{address}")

    def wait(self, keys: tuple[str, ...]) -> float:
        """Seconds before an attempt on ``keys`` may be checked (0: now)."""
        now = self.clock()
        waits = [0.0]
        for key in keys:
            record = self._records.get(key)
            if record is not None and now - record.last > self.forget:
                del self._records[key]
            elif record is not None:
                waits.append(record.until - now)
        return max(waits)

    def retry_after(self, keys: tuple[str, ...]) -> int:
        """:meth:`wait` in whole seconds for a ``Retry-After`` header (at least 1 when waiting)."""
        return max(1, math.ceil(self.wait(keys)))

    def failed(self, keys: tuple[str, ...]) -> float:
        """Count a failed check; returns the wait it imposes on the next attempt."""
        now = self.clock()
        longest = 0.0
        for key in keys:
            record = self._records.get(key)
            if record is None or now - record.last > self.forget:
                record = self._records[key] = _Record(0, now, now)
            record.failures += 1
            record.last = now
            # the free-th failure makes the next attempt wait `base`, each one more doubles it
            over = record.failures - (self.free_per_address if key.startswith("address:") else self.free) + 1
            if over > 0:
                record.until = now + min(self.cap, self.base * 2.0 ** (over - 1))
                if over & (over - 1) == 0:  # the 1st, 2nd, 4th, 8th... wait imposed
                    log.warning("password guessing slowed down", key=key, failures=record.failures,
                                wait_seconds=round(record.until - now, 1))  # fmt: skip
            longest = max(longest, record.until - now)
        if len(self._records) > self.max_keys:
            self._prune(now)
        return longest

    def succeeded(self, keys: tuple[str, ...]) -> None:
        """A correct password: the account's count starts again (the address's stays)."""
        for key in keys:
            if key.startswith("account:"):
                self._records.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in [k for k, r in self._records.items() if now - r.last > self.forget]:
            del self._records[key]
        while len(self._records) > self.max_keys:  # under a flood, the oldest go first
            del self._records[min(self._records, key=lambda k: self._records[k].last)]
