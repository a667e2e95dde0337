"""The attach dashboard against a real run: the run in one task, the viewer in another."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from fanout_tui import __version__
from fanout_tui.attach import attach_run
from fanout_tui.engine import BranchStatus
from fanout_tui.remote import ProtocolMismatch, RemoteEngine
from fanout_tui.remote._protocol import PROTOCOL_VERSION, check_hello
from fanout_tui.remote._sockets import connect_unix
from fanout_tui.ui import create_app
from tests.remote.conftest import served_run

pytestmark = pytest.mark.anyio

SPEC = """\
version: 1
name: attach-test
branches:
  - id: long
    run: "echo started; while ! test -f stop.marker; do sleep 0.05; done; echo stopped"
  - id: fragile
    run: "if test -f fixed.marker; then echo fixed; else echo broken; exit 3; fi"
"""


async def _until(condition: Callable[[], bool], pilot: object = None) -> None:
    with anyio.fail_after(15):
        while not condition():
            if pilot is not None:
                await pilot.pause(0.02)  # type: ignore[attr-defined]
            else:
                await anyio.sleep(0.02)


def _status(app: object, branch: str) -> BranchStatus:
    return app._frames.model.by_id[branch].status  # type: ignore[attr-defined]


async def test_a_viewer_sees_the_run_and_its_retry_acts_there(
    write_spec: Callable[[str], Path],
) -> None:
    spec = write_spec(SPEC)
    async with served_run(spec) as run:
        await _until(lambda: run.engine.outcome().branches[1].status is BranchStatus.FAILED)
        viewer = await run.viewer()
        app = create_app(viewer, attached=True)
        app.animation_level = "none"
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(lambda: _status(app, "fragile") is BranchStatus.FAILED, pilot)
            assert _status(app, "long") is BranchStatus.RUNNING
            (spec.parent / "fixed.marker").touch()
            app._dashboard.grid.select("fragile")  # type: ignore[attr-defined]
            await pilot.press("r")
            await _until(lambda: _status(app, "fragile") is BranchStatus.SUCCEEDED, pilot)
            assert run.engine.outcome().branches[1].status is BranchStatus.SUCCEEDED
            await pilot.press("q")  # detaches
        assert run.engine.outcome().branches[0].status is BranchStatus.RUNNING
        (spec.parent / "stop.marker").touch()
        await _until(lambda: run.outcome is not None)
    assert run.outcome is not None and run.outcome.exit_code == 0


async def test_two_viewers_see_the_same_and_a_read_only_one_sends_nothing(
    write_spec: Callable[[str], Path],
) -> None:
    spec = write_spec(SPEC)
    async with served_run(spec) as run:
        first = await run.viewer()
        second = await run.viewer(read_only=True)
        seen: dict[str, list[str]] = {"first": [], "second": []}
        first.add_listener(lambda e: seen["first"].append(type(e).__name__))
        second.add_listener(lambda e: seen["second"].append(type(e).__name__))
        notes: list[str] = []
        second.notify = notes.append
        async with anyio.create_task_group() as group:
            group.start_soon(first.run)
            group.start_soon(second.run)
            await _until(lambda: second._statuses.get("fragile") is BranchStatus.FAILED)
            assert second.retry("fragile") is False
            assert notes == ["Read-only: this viewer sends no commands to the run."]
            (spec.parent / "stop.marker").touch()
            await _until(lambda: first.finished and second.finished)
            group.cancel_scope.cancel()
    assert seen["first"] == seen["second"]
    assert seen["first"][-1] == "RunFinished"


async def test_a_viewer_that_stops_reading_is_dropped_and_the_run_goes_on(
    write_spec: Callable[[str], Path],
) -> None:
    chatty = """\
version: 1
name: chatty
branches:
  - id: loud
    run: "i=0; while [ $i -lt 20000 ]; do echo line $i to fill buffers; i=$((i+1)); done"
"""
    spec = write_spec(chatty)
    async with served_run(spec, viewer_buffer=8, send_timeout_s=0.5) as run:
        stuck = await anyio.to_thread.run_sync(connect_unix, run.served.socket_path)
        # It says its hello and reads nothing, not even the run's.
        stuck.sendall(
            b'{"fanout": "viewer", "protocol": %d, "version": "%s"}\n'
            % (PROTOCOL_VERSION, __version__.encode())
        )
        await _until(lambda: run.outcome is not None)
        assert run.outcome is not None and run.outcome.exit_code == 0
        # The run let the stuck viewer go: what it had not read ends in a closed socket.
        stuck.setblocking(True)
        stuck.settimeout(10)
        while stuck.recv(1 << 20):
            pass
        stuck.close()


async def test_a_newer_viewer_refuses_an_older_run_in_one_line() -> None:
    with pytest.raises(ProtocolMismatch) as raised:
        check_hello(b'{"fanout": "run", "protocol": 0, "version": "0.0.1"}', expected_role="run")
    assert str(raised.value) == (
        f"the run speaks attach protocol 0 (fanout-tui 0.0.1), this fanout-tui speaks "
        f"{PROTOCOL_VERSION} ({__version__}): use the fanout-tui that started the run"
    )


async def test_attach_to_a_run_of_another_version_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fanout_tui.remote._sockets import bind_unix

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    listener = bind_unix(run_dir / "control.sock")
    listener.setblocking(True)

    def old_run() -> None:
        connection, _ = listener.accept()
        connection.sendall(b'{"fanout": "run", "protocol": 0, "version": "0.0.1"}\n')
        connection.close()

    async with anyio.create_task_group() as group:
        group.start_soon(anyio.to_thread.run_sync, old_run)
        with pytest.raises(ProtocolMismatch, match="attach protocol 0"):
            await anyio.to_thread.run_sync(RemoteEngine.connect, run_dir)
    listener.close()


async def test_a_finished_run_shows_its_final_state(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(SPEC.replace("while ! test -f stop.marker; do sleep 0.05; done; ", ""))
    async with served_run(spec) as run:
        await _until(lambda: run.outcome is not None)
    viewer = RemoteEngine.final_state(run.run_dir)
    assert viewer is not None and viewer.finished
    app = create_app(viewer, attached=True, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert _status(app, "fragile") is BranchStatus.FAILED
        assert _status(app, "long") is BranchStatus.SUCCEEDED
        await pilot.press("r")
        await pilot.pause()
        assert "Read-only" in str([n.message for n in app._notifications])
        await pilot.press("q")


def test_attach_to_nothing_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert attach_run(tmp_path / ".fanout", None) == 2
    assert "nothing to attach to" in capsys.readouterr().err


def test_the_socket_is_the_owners_only_even_at_a_long_path(tmp_path: Path) -> None:
    from fanout_tui.remote._sockets import bind_unix

    deep = tmp_path / ("x" * 60) / ("y" * 60)
    deep.mkdir(parents=True)
    listener = bind_unix(deep / "control.sock")
    try:
        assert (deep / "control.sock").stat().st_mode & 0o777 == 0o600
        connect_unix(deep / "control.sock").close()
    finally:
        listener.close()
    assert isinstance(listener, socket.socket)
