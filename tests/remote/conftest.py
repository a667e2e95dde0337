"""A real run, served on its socket in a journal, for viewers in the same test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine import Engine, RunOutcome
from fanout_tui.journal import Journal
from fanout_tui.launch import load_spec
from fanout_tui.remote import RemoteEngine, ServedEngine


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual's loop


class ServedRun:
    """A journaled run of a spec, served while a test's task runs it."""

    def __init__(self, served: ServedEngine, engine: Engine) -> None:
        self.served = served
        self.engine = engine
        self.run_dir = served.socket_path.parent
        self.outcome: RunOutcome | None = None

    async def viewer(self, *, read_only: bool = False) -> RemoteEngine:
        """A viewer attached on the socket (its blocking handshake in a thread)."""
        return await anyio.to_thread.run_sync(
            lambda: RemoteEngine.connect(self.run_dir, read_only=read_only)
        )


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "spec.yaml"
        path.write_text(text)
        return path

    return write


@asynccontextmanager
async def served_run(spec: Path, **served_args: object) -> AsyncIterator[ServedRun]:
    """Run ``spec`` in a task, journaled beside it and served; end it on the way out."""
    plan = load_spec(spec)
    with Journal.open(spec.parent / ".fanout") as journal:
        recorder = journal.start_run(plan)
        engine = Engine(plan, log_dir=recorder.log_dir, run_env=recorder.marks)
        engine.add_listener(recorder.record)
        served = ServedEngine(
            engine,
            run_id=recorder.run_id,
            run_dir=recorder.run_dir,
            **served_args,  # type: ignore[arg-type]
        )
        run = ServedRun(served, engine)
        async with anyio.create_task_group() as group:

            async def go() -> None:
                run.outcome = await served.run()
                recorder.finish(run.outcome)

            group.start_soon(go)
            await served.listening.wait()
            try:
                yield run
            finally:
                engine.shutdown(interrupted=True)
