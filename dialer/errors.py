"""Errors of the dialer application layer.

Tree::

    DialerError                 base of everything raised on purpose by ``dialer``
    ├── ConfigError             the configuration is wrong (user's fault); carries one problem per key
    └── StorageError            the database cannot be used as it is
        └── DatabaseNotMigrated the schema is older than this code (run ``dialer migrate``)

The CLI turns every ``DialerError`` into a message on stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class DialerError(Exception):
    """Base of the errors the dialer raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One wrong thing in the configuration: where, what is wrong, what would be accepted."""

    source: str
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.problem}"


class ConfigError(DialerError):
    """The configuration cannot be used; ``problems`` lists every wrong key, one each."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem(s)):\n{lines}")


class StorageError(DialerError):
    """The database cannot be used as it is."""


class DatabaseNotMigrated(StorageError):
    """The database schema is not at the revision this code needs."""

    def __init__(self, where: str, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        state = "has no schema yet" if current is None else f"is at revision {current}"
        super().__init__(
            f"database {where} {state}, this version needs revision {head}; run `dialer migrate` first"
        )
