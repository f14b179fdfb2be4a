"""An output file that is one of the run's inputs, or another output, is refused before
anything is read or written (adversarial review, session 12: `simulate same.csv
--timeline same.csv` overwrote the trace with the timeline, exit 0; `backtest --png x
--html x` kept only the page)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tuner.cli import main

SAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "churn-sample.csv"


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``eni-tuner *args``: its exit code and its stderr."""
    monkeypatch.setattr("sys.argv", ["eni-tuner", *args])
    try:
        main()
        code: object = 0
    except SystemExit as ended:
        code = ended.code or 0
    return f"{code} {capsys.readouterr().err}"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["simulate", "{trace}", "--timeline", "{trace}"], "--timeline names the file of TRACE"),
        (["simulate", "{trace}", "--targets", "{targets}", "--timeline", "{targets}"],
         "--timeline names the file of --targets"),
        (["backtest", "--trace", "{trace}", "--png", "{trace}"], "--png names the file of --trace"),
        (["backtest", "--trace", "{trace}", "--png", "{out}", "--html", "{out}"],
         "--html names the file of --png"),
    ],
)  # fmt: skip
def test_an_output_that_is_an_input_or_another_output_is_bad_input(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    said: str,
) -> None:
    trace = tmp_path / "trace.csv"
    shutil.copy(SAMPLE, trace)
    targets = tmp_path / "targets.csv"
    targets.write_text("node,min_warm,max_warm\nnode-0,2,4\n")
    names = {"trace": str(trace), "targets": str(targets), "out": str(tmp_path / "report")}
    before = {p: p.read_bytes() for p in (trace, targets)}
    code, err = run(monkeypatch, capsys, *(a.format(**names) for a in args)).split(" ", 1)
    assert code == "2" and said in err and len(err.strip().splitlines()) == 1, err
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "report").exists()


def test_a_link_to_the_trace_is_the_trace(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = tmp_path / "trace.csv"
    shutil.copy(SAMPLE, trace)
    (tmp_path / "link.csv").symlink_to(trace)
    said = run(
        monkeypatch, capsys, "simulate", str(trace), "--timeline", str(tmp_path / "link.csv")
    )
    assert said.startswith("2 ") and trace.read_bytes() == SAMPLE.read_bytes()


def test_devices_are_no_files_to_overwrite(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["backtest", "--trace", str(SAMPLE), "--png", "/dev/null", "--html", "/dev/null"]
    assert run(monkeypatch, capsys, *args).startswith("0 ")


def test_two_spellings_of_one_new_output_are_one_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Before (adversarial review, session 12): `--png sub/../out.x --html out.x`, the
    file not there yet, wrote both and kept the page."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "sub")
    for png, html in ((tmp_path / "sub" / ".." / "out.x", tmp_path / "out.x"),
                      (tmp_path / "link" / "out.y", tmp_path / "sub" / "out.y")):  # fmt: skip
        args = ["backtest", "--trace", str(SAMPLE), "--png", str(png), "--html", str(html)]
        assert run(monkeypatch, capsys, *args).startswith("2 ")
        assert not html.exists()
