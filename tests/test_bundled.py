"""The data shipped with the package: shipped samples are found from any folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanout_tui.bundled import bundled_sample, data_dir
from fanout_tui.cli import main

SAMPLE = data_dir("sample_specs") / "flaky-retry.yaml"


@pytest.mark.parametrize(
    "given", ["sample_specs/flaky-retry.yaml", "flaky-retry.yaml", "flaky-retry"]
)
def test_a_sample_named_from_another_folder_is_the_shipped_one(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert bundled_sample(Path(given)) == SAMPLE


@pytest.mark.parametrize("given", ["elsewhere/flaky-retry.yaml", "no-such-sample.yaml", "scripts"])
def test_other_missing_paths_name_no_sample(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert bundled_sample(Path(given)) is None


def test_a_file_that_exists_here_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("flaky-retry.yaml").write_text("version: 1\n")
    assert bundled_sample(Path("flaky-retry.yaml")) is None


def test_check_says_which_sample_it_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check", "sample_specs/flaky-retry.yaml"]) == 0
    captured = capsys.readouterr()
    assert f"using the bundled sample {SAMPLE}" in captured.err
    assert captured.out.startswith("flaky-retry\n")
