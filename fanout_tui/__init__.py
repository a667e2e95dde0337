"""fanout-tui: run independent subtasks in parallel and watch them in a terminal dashboard.

The package is layered (see README, "Layering"):

- :mod:`fanout_tui.spec` loads and validates a spec into an expanded
  :class:`~fanout_tui.spec.Plan`.
- :mod:`fanout_tui.engine` runs a plan on anyio, publishes events and takes commands.
- :mod:`fanout_tui.journal` records runs in SQLite so they can be resumed.
- :mod:`fanout_tui.ui` is the Textual dashboard; it renders events and sends commands.
- :mod:`fanout_tui.cli` parses the command line and wires the parts together.
"""

__version__ = "0.1.0"
