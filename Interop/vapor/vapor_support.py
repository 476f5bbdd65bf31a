"""Constants of the PrimusVapor tests (the python-engineio peer is Interop/engineio_peer.py, the
SIGTERM helpers Interop/example_support.py, shared with the Hummingbird tests)."""

from __future__ import annotations

EXAMPLE = "VaporChat"
TIMEOUT = 15.0
