"""How ``posttrain`` prints a user's error: whole, on stderr, exactly as raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrain.cli import main


def test_a_long_error_is_not_broken_across_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A path longer than the 80 columns rich assumes when stderr is not a terminal: the
    # message must keep "line 2" and the path whole, so it can be searched and copied.
    deep = tmp_path / ("a-rather-long-directory-name-" * 4) / "replay"
    deep.mkdir(parents=True)
    bad = deep / "r.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}], "user": "u"}\n{}\n')
    assert main(["replay", str(bad), "--max-requests", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{bad} line 2" in err


def test_square_brackets_in_an_error_are_printed_not_read_as_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "[draft]" / "[bold]"
    where.mkdir(parents=True)
    bad = where / "r.jsonl"
    bad.write_text("{}\n")
    assert main(["replay", str(bad), "--max-requests", "1"]) == 2
    assert "[draft]/[bold]/r.jsonl" in capsys.readouterr().err
