"""Print an expanded plan readably (``fanout-tui check``)."""

from fanout_tui.spec.plan import Plan


def describe_plan(plan: Plan) -> str:
    """The plan as text: branches, resources and limits, merge, policy."""
    raise NotImplementedError
