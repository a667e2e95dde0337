"""The Textual dashboard: renders engine events and sends operator commands.

It never starts a process: everything it runs goes through the engine.
"""

from fanout_tui.ui.app import FanoutApp, create_app, run_dashboard

__all__ = ["FanoutApp", "create_app", "run_dashboard"]
