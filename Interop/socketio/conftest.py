"""Fixtures of the Socket.IO interop tests (the suite's own fixtures are in ../conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sio_support import Clients


@pytest.fixture
def clients() -> Iterator[Clients]:
    """Makes python-socketio 5 clients; each is shut down at teardown."""
    made = Clients()
    yield made
    made.close_all()
