"""The synthesizer: the final merge of a ``synthesis`` plan, run like a branch.

It runs only once the policy is satisfied (never for a preview), with the results
document as JSON on its stdin; its stdout is the merged result. It has its own timeout
and retries, takes the resources it ``uses`` but no slot of the global cap, and publishes
no branch events: a failure is the merge's error. When the settled branches change while
it runs (an operator's retry), the run in progress is cancelled and a new one starts; a
finished synthesis is kept for exactly the branch outcomes it was given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import anyio
import anyio.abc

from fanout_tui.engine import _merge_state as merge_state
from fanout_tui.engine._attempt import AttemptResult
from fanout_tui.engine._backoff import backoff_delay
from fanout_tui.engine._events import BranchReport, BranchStatus, MergeState, results_document
from fanout_tui.engine._executor import AttemptRunner
from fanout_tui.engine._policy import Verdict, status_words
from fanout_tui.engine._resources import ResourcePool
from fanout_tui.spec import BranchPlan, Plan

Signature = tuple[tuple[str, BranchStatus, int], ...]


class Synthesis:
    """Runs a plan's synthesizer for the final merge, one run at a time.

    Args:
        plan: The plan (its ``merge.synthesizer`` is run).
        attempts: Runs one attempt.
        pool: Where the synthesizer takes the resources it uses.
        random: Jitter for its backoff.
        publish: Told the merge state a finished synthesis produced.
        settled: Called when a synthesis ends, whatever its outcome.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        attempts: AttemptRunner,
        pool: ResourcePool,
        random: Callable[[], float],
        publish: Callable[[MergeState], None],
        settled: Callable[[], None],
    ) -> None:
        assert plan.merge.synthesizer is not None
        self._plan = plan
        self._synthesizer: BranchPlan = plan.merge.synthesizer
        self._attempts = attempts
        self._pool = pool
        self._random = random
        self._publish = publish
        self._settled = settled
        self._scope: anyio.CancelScope | None = None
        self._done: tuple[Signature, MergeState] | None = None
        self._attempt = 0

    @property
    def running(self) -> bool:
        """True while a synthesis is in progress."""
        return self._scope is not None

    def state_for(
        self,
        verdict: Verdict,
        reports: Sequence[BranchReport],
        task_group: anyio.abc.TaskGroup | None,
    ) -> MergeState:
        """The merge state for a satisfied policy; starts a synthesis when one is needed.

        Without a task group (the run is ending) nothing starts: unless these very branch
        outcomes were already synthesized, the merge is cut short.
        """
        signature = tuple((report.id, report.status, report.attempts) for report in reports)
        if self._done is not None and self._done[0] == signature:
            return self._done[1]
        if task_group is None:
            why = "the run ended before the synthesizer finished"
            return merge_state.cut_short(verdict, self._plan.merge, reports, why)
        self.stop()
        scope = self._scope = anyio.CancelScope()
        stdin = json.dumps(results_document(self._plan.name, reports), default=str).encode()
        task_group.start_soon(self._synthesize, scope, signature, verdict, stdin)
        return merge_state.synthesizing(verdict, self._plan.merge, reports)

    def stop(self) -> None:
        """Cancel the synthesis in progress, if any."""
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None

    async def _synthesize(
        self, scope: anyio.CancelScope, signature: Signature, verdict: Verdict, stdin: bytes
    ) -> None:
        try:
            with scope:
                result = await self._attempt_set(stdin)
                if result.status is BranchStatus.SUCCEEDED:
                    state = merge_state.merged_state(verdict, result.result)
                else:
                    if result.status is BranchStatus.TIMED_OUT:  # "timed out after 1s"
                        why = f"the synthesizer {result.reason}"
                    else:
                        why = f"the synthesizer {status_words(result.status)}: {result.reason}"
                    state = merge_state.failed_merge(verdict, why)
                self._done = (signature, state)
                self._scope = None
                self._publish(state)
        finally:
            if self._scope is scope:
                self._scope = None
            self._settled()

    async def _attempt_set(self, stdin: bytes) -> AttemptResult:
        retry = self._synthesizer.retry
        failures = 0
        while True:
            self._attempt += 1
            with await self._pool.acquire(
                self._synthesizer.uses, on_wait=_ignore, global_slot=False
            ):
                result = await self._attempts(
                    self._synthesizer, self._attempt, emit=_ignore, stdin=stdin
                )
            failures += 1
            if result.status is BranchStatus.SUCCEEDED or failures >= retry.attempts:
                return result
            await self._attempts.clock.sleep(backoff_delay(retry, failures, self._random))


def _ignore(_: object) -> None:
    """Swallow what the synthesizer would publish: it is not a branch."""
