"""Errors of the pacing package.

Tree::

    PacingError            base
    ├── InvalidSnapshot    the caller described an impossible campaign state (caller's fault)
    └── InvalidParameter   a strategy or estimator was configured with an impossible value
"""


class PacingError(Exception):
    """Base of pacing errors."""


class InvalidSnapshot(PacingError, ValueError):
    """The snapshot is inconsistent (negative times, more busy agents than logged in, ...)."""


class InvalidParameter(PacingError, ValueError):
    """A parameter is outside what the model accepts."""
