"""The keys, explained."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
[b]fanout-tui — keys[/b]

[b]On the dashboard[/b]
  [b]↑ ↓ ← →[/b] or [b]h j k l[/b]   move between branch panels
  [b]r[/b]                  retry this branch (failed, timed out, cancelled, reused)
  [b]R[/b]                  retry every failed branch
  [b]c[/b]                  cancel the focused branch (ends its whole process group)
  [b]C[/b]                  cancel every branch still active
  [b]enter[/b]              the focused branch's full log
  [b]m[/b]                  the merged result
  [b]f[/b]                  filter: all → failed → running
  [b]u[/b]                  shared resources: held, waiting, window, tokens, pauses
  [b]q[/b]                  quit (asks first while branches run)
  [b]?[/b]                  this help
  [b]escape[/b]             list every branch again (after f)
  [b]ctrl+p[/b]             palette: every key, any branch by name, themes

[b]In the full log[/b]
  [b]/[/b]                  search · [b]n[/b] next hit · [b]N[/b] previous hit
  [b]escape[/b]             back

[b]In the resources view[/b]
  [b]escape[/b] or [b]u[/b]        back

[b]In the merged result[/b]
  [b]s[/b]                  save it (to the spec's output, or a path you type)
  [b]escape[/b]             back

Badges: · pending  … waiting  ▶ running  ↻ retrying
        ✓ succeeded  ✗ failed  ⏱ timed out  ⊘ cancelled  ♻ reused
"""


class HelpScreen(ModalScreen[None]):
    """What every key does."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Static(HELP_TEXT, id="help-text")
