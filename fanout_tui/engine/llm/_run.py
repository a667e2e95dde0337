"""One attempt of an ``llm`` branch: ask, stream the reply, judge it, repair it.

The reply's text is the branch's stdout (its panel and log fill as it arrives); notes
and signals go to stderr: the usage of each reply as a ``::fanout::`` usage signal (cost
from the provider's prices), a 429 as a rate-limit signal, which pause the resources
through the scheduler as for any branch. A reply that breaks the output contract is asked
again with the error and the bad reply in the conversation, up to ``repair`` times
("repair 1 of 2"), within the same attempt; an HTTP or transport failure is never fed
back to the model. JSON in a fenced code block is taken from the fence.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from fanout_tui.engine._attempt_result import AttemptResult, contract_broken, failed, timed_out
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import BranchStatus
from fanout_tui.engine._output import RESULT_CAP, RESULT_CAP_WORDS, ContractError, parse_output
from fanout_tui.engine._signals import SIGNAL_PREFIX
from fanout_tui.engine._streams import OutputSink
from fanout_tui.engine._supervise import Streams
from fanout_tui.engine.llm._chat import HttpFailure, Reply, ask
from fanout_tui.engine.llm._client import HttpClient
from fanout_tui.spec import BranchPlan, LlmMessage, LlmPlan, Masker, OutputFormat

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```", re.DOTALL)
_STRUCTURED = {OutputFormat.JSON, OutputFormat.JSONL}


async def run_llm(
    branch: BranchPlan,
    *,
    streams: Streams,
    clock: Clock,
    http: HttpClient,
    stdin: bytes | None,
    environment: Mapping[str, str] | None,
    on_partial: Callable[[str], None] | None = None,
) -> AttemptResult:
    """Run one attempt of the ``llm`` branch ``branch`` (see the module docstring).

    ``stdin`` (the synthesizer's results document) is added as a user message.
    ``on_partial`` receives the reply's unfinished last line (masked) each time it grows,
    so a panel shows a reply as it streams even before its first line break.
    """
    llm = branch.llm
    assert llm is not None, "only llm branches come here"
    environ = {**(os.environ if environment is None else environment), **branch.env}
    key_name = llm.provider.api_key_env
    api_key = environ.get(key_name) if key_name else None
    if key_name and not api_key:
        return failed(f"the API key variable {key_name} is not set", permanent=True)
    messages = list(llm.messages)
    if stdin is not None:
        document = stdin.decode("utf-8", "replace")
        messages.append(LlmMessage("user", f"The results document:\n{document}"))
    out, err = streams.stdout_sink(), streams.stderr_sink()
    outcome: AttemptResult | None = None
    expired = False

    async def expire(scope: anyio.CancelScope, seconds: float) -> None:
        nonlocal expired
        await clock.sleep(seconds)
        expired = True
        scope.cancel()

    try:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                if branch.timeout_s is not None:
                    tg.start_soon(expire, scope, branch.timeout_s)
                outcome = await _converse(
                    branch, llm, messages, http, api_key, streams, out, err, on_partial
                )
                tg.cancel_scope.cancel()
    finally:
        out.finish()
        err.finish()
    if expired:
        return timed_out(branch)
    assert outcome is not None
    return outcome


async def _converse(
    branch: BranchPlan,
    llm: LlmPlan,
    messages: list[LlmMessage],
    http: HttpClient,
    api_key: str | None,
    streams: Streams,
    out: OutputSink,
    err: OutputSink,
    on_partial: Callable[[str], None] | None,
) -> AttemptResult:
    for repair in range(llm.repair + 1):
        on_text = _text_taker(out, streams.masker, on_partial)
        reply = await ask(http.get(), llm, messages, api_key=api_key, on_text=on_text)
        if isinstance(reply, HttpFailure):
            return _failed(reply, err)
        if not reply.content.endswith("\n"):
            out.take("\n", 1)
        _report_usage(llm, reply, err)
        if len(reply.content) > RESULT_CAP:
            return failed(f"the reply is larger than {RESULT_CAP_WORDS}")
        try:
            result = parse_output(_unfenced(reply.content, branch), branch.output)
        except ContractError as error:
            if repair == llm.repair:
                after = f" (still broken after {llm.repair} repairs)" if llm.repair else ""
                return contract_broken(f"{error}{after}")
            note = f"[fanout-tui] repair {repair + 1} of {llm.repair}: {error}"
            err.take(note + "\n", len(note) + 1)
            messages = [*messages, LlmMessage("assistant", reply.content), _repair_ask(error)]
            continue
        return AttemptResult(BranchStatus.SUCCEEDED, result=streams.masker.mask_value(result))
    raise AssertionError("the loop returns")  # pragma: no cover


def _text_taker(
    out: OutputSink, masker: Masker, on_partial: Callable[[str], None] | None
) -> Callable[[str], None]:
    """Where a reply's text goes as it arrives: the stdout sink (panel lines, log, result)
    and, while a line is unfinished, ``on_partial`` with that line so far, masked as a
    stream (the start of a secret is held back until it can be told apart)."""
    if on_partial is None:
        return lambda text: out.take(text, len(text))
    stream = masker.stream()
    line = ""

    def take(text: str) -> None:
        nonlocal line
        out.take(text, len(text))
        shown = stream.feed(text)
        if not shown:
            return
        _, newline, after = shown.rpartition("\n")
        line = after if newline else line + after
        if line:
            on_partial(line)

    return take


def _repair_ask(error: ContractError) -> LlmMessage:
    return LlmMessage(
        "user",
        f"Your reply broke the required output format: {error}. "
        "Answer again with only the corrected output.",
    )


def _unfenced(content: str, branch: BranchPlan) -> str:
    """A structured reply's JSON taken out of its fenced code block, if it is in one."""
    if branch.output.format in _STRUCTURED and "```" in content:
        match = _FENCE.search(content)
        if match:
            return match.group(1)
    return content


def _failed(failure: HttpFailure, err: OutputSink) -> AttemptResult:
    if failure.retry_after_s is not None:
        signal = {"rate_limited": {"retry_after": round(failure.retry_after_s, 3)}}
        _signal(signal, err)
    return failed(failure.reason, permanent=failure.permanent)


def _report_usage(llm: LlmPlan, reply: Reply, err: OutputSink) -> None:
    if reply.input_tokens is None and reply.output_tokens is None:
        return
    tokens_in, tokens_out = reply.input_tokens or 0, reply.output_tokens or 0
    usage: dict[str, float] = {"input_tokens": tokens_in, "output_tokens": tokens_out}
    cost = llm.provider.cost_usd(tokens_in, tokens_out)
    if cost:
        usage["cost_usd"] = cost
    _signal({"usage": usage}, err)


def _signal(message: dict[str, Any], err: OutputSink) -> None:
    line = f"{SIGNAL_PREFIX} {json.dumps(message)}\n"
    err.take(line, len(line))
