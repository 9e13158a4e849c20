"""The password throttle: free failures, doubling waits, per-account and per-address keys."""

from __future__ import annotations

import pytest

from dialer.throttle import Throttle


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_waits_double_after_the_free_failures_and_a_success_clears_the_account() -> None:
    clock = Clock()
    throttle = Throttle(free=3, base=2.0, cap=10.0, clock=clock)
    keys = throttle.keys("Anna", "198.51.100.7")
    assert keys == ("account:anna", "address:198.51.100.7")
    assert [throttle.failed(keys) for _ in range(3)][-1] == 2.0  # the third imposes the first wait
    assert throttle.wait(keys) == 2.0 and throttle.retry_after(keys) == 2
    assert throttle.failed(keys) == 4.0
    assert throttle.failed(keys) == 8.0
    assert throttle.failed(keys) == 10.0  # capped
    clock.now += 10.0
    assert throttle.wait(keys) == 0.0
    throttle.succeeded(keys)
    assert throttle.wait(throttle.keys("anna", None)) == 0.0
    assert throttle.failed(throttle.keys("anna", None)) == 0.0  # the account starts again


def test_an_address_gets_more_tries_than_an_account_and_unknown_accounts_count_alike() -> None:
    clock = Clock()
    throttle = Throttle(free=2, free_per_address=4, base=1.0, clock=clock)
    for login in ("a", "b", "c"):  # three people of one office mistype once or twice
        throttle.failed(throttle.keys(login, "203.0.113.1"))
    assert throttle.wait(throttle.keys("d", "203.0.113.1")) == 0.0
    throttle.failed(throttle.keys("nobody", "203.0.113.1"))  # the fourth failure from the address
    assert throttle.wait(throttle.keys("d", "203.0.113.1")) == 1.0
    assert throttle.wait(throttle.keys("d", "192.0.2.9")) == 0.0  # another address is free


def test_failures_are_forgotten_and_memory_stays_bounded() -> None:
    clock = Clock()
    throttle = Throttle(free=1, forget=60.0, max_keys=100, clock=clock)
    throttle.failed(throttle.keys("x", None))
    assert throttle.wait(throttle.keys("x", None)) > 0
    clock.now += 61.0
    assert throttle.wait(throttle.keys("x", None)) == 0.0
    for i in range(500):
        clock.now += 0.01
        throttle.failed(throttle.keys(f"user{i}", f"10.0.{i // 250}.{i % 250}"))
    assert len(throttle._records) <= 100


def test_impossible_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Throttle(free=0)
    with pytest.raises(ValueError):
        Throttle(base=10.0, cap=1.0)
