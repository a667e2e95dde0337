"""fanout-tui serve in a real headless Chromium (the system's; no browser is downloaded)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)"),
]
playwright = pytest.importorskip(
    "playwright.sync_api", reason="the playwright client is not installed"
)
pytest.importorskip("textual_serve", reason="textual-serve (fanout-tui[web]) is not installed")

SPEC = """\
version: 1
name: browser-run
branches:
  - id: waiting
    run: "echo waiting for stop; while ! test -f stop.marker; do sleep 0.05; done"
  - id: fragile
    run: "if test -f fixed.marker; then echo fixed; else echo broken; exit 3; fi"
"""
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_served_dashboard_needs_its_token_and_takes_keys(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    command = [sys.executable, "-m", "fanout_tui"]
    errors = (tmp_path / "run.err").open("w")
    run = subprocess.Popen(
        [*command, "spec.yaml", "--headless"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    port = _free_port()
    serve = None
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".fanout/runs/*/control.sock")):
            assert time.monotonic() < deadline, "the run never served its socket"
            time.sleep(0.05)
        serve = subprocess.Popen(
            [*command, "serve", "--port", str(port)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert serve.stderr is not None
        url = ""
        while not url:
            line = serve.stderr.readline()
            assert line, "serve ended before printing its URL"
            found = re.search(r"(http://\S+\?token=\S+)", line)
            url = found.group(1) if found else ""
        bare = url.split("?")[0]
        while True:
            try:
                urllib.request.urlopen(bare, timeout=5)
            except urllib.error.HTTPError as refused:
                assert refused.code == 403  # without the token: refused
                break
            except urllib.error.URLError:
                time.sleep(0.1)
                continue
            raise AssertionError("the page was served without its token")

        with playwright.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            # The terminal draws on a canvas: what the dashboard shows is read from the
            # websocket that carries the terminal's output to the page.
            received: list[bytes] = []
            page.on(
                "websocket",
                lambda ws: ws.on(
                    "framereceived",
                    lambda frame: received.append(
                        frame if isinstance(frame, bytes) else frame.encode()
                    ),
                ),
            )
            page.goto(url)
            deadline = time.monotonic() + 30
            while b"waiting for stop" not in b"".join(received):
                assert time.monotonic() < deadline, "the dashboard never showed the run"
                page.wait_for_timeout(100)
            assert b"browser-run" in b"".join(received)

            (tmp_path / "fixed.marker").touch()
            page.click(".xterm-screen")
            page.keyboard.press("l")  # to the failed branch
            page.keyboard.press("r")  # retried in the run itself
            deadline = time.monotonic() + 30
            while "fragile  succeeded" not in (tmp_path / "run.err").read_text():
                assert time.monotonic() < deadline, "r in the browser did not retry"
                page.wait_for_timeout(100)
            other = browser.new_page()
            response = other.goto(f"{bare}?token=wrong")
            assert response is not None and response.status == 403
            browser.close()
        assert run.poll() is None  # browsers come and go; the run goes on
    finally:
        (tmp_path / "stop.marker").touch()
        if serve is not None:
            serve.terminate()
            serve.wait(timeout=30)
        run.wait(timeout=30)
        errors.close()
