"""Runs served to viewers: every run's control socket, and a viewer's side of it.

A run listens on ``control.sock`` in its journal folder while it runs
(:class:`ServedEngine`); ``fanout-tui attach`` reaches it through :class:`RemoteEngine`,
which the dashboard drives like an engine of its own.
"""

from fanout_tui.remote._client import NotServed, RemoteEngine
from fanout_tui.remote._protocol import PROTOCOL_VERSION, SOCKET_NAME, ProtocolMismatch, Snapshot
from fanout_tui.remote._server import ServedEngine

__all__ = [
    "PROTOCOL_VERSION",
    "SOCKET_NAME",
    "NotServed",
    "ProtocolMismatch",
    "RemoteEngine",
    "ServedEngine",
    "Snapshot",
]
