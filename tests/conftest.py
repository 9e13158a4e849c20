"""Shared test helpers. Unit tests open no sockets and never sleep; integration tests talk to real
servers on 127.0.0.1 that their fixtures start and stop."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config.toml into a temp dir and return its path."""

    def write(text: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
