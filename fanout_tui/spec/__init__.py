"""The spec language: YAML in, a validated and expanded :class:`Plan` out.

Imports nothing else of the package (a test enforces it).
"""

from fanout_tui.spec.describe import describe_plan
from fanout_tui.spec.errors import SpecError, SpecIssue
from fanout_tui.spec.loader import load_plan, load_plan_text
from fanout_tui.spec.plan import (
    BranchPlan,
    ConflictRule,
    MergePlan,
    MergeStrategy,
    OutputContract,
    OutputFormat,
    Plan,
    PolicyMode,
    PolicyPlan,
    Rate,
    ResourceLimit,
    RetryPolicy,
)
from fanout_tui.spec.schema import spec_json_schema

__all__ = [
    "BranchPlan",
    "ConflictRule",
    "MergePlan",
    "MergeStrategy",
    "OutputContract",
    "OutputFormat",
    "Plan",
    "PolicyMode",
    "PolicyPlan",
    "Rate",
    "ResourceLimit",
    "RetryPolicy",
    "SpecError",
    "SpecIssue",
    "describe_plan",
    "load_plan",
    "load_plan_text",
    "spec_json_schema",
]
