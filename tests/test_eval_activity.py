"""``eldercare eval activity``: JSON output keys on a small temporary stream, through the real argument parser."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from alerts.eval_activity import add_activity_parser


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="eldercare eval")
    add_activity_parser(parser.add_subparsers(dest="what"))
    return parser.parse_args(argv)


def _write_stream(path: Path) -> None:
    """Three days of a morning routine, then a silence from day 3 10:00 (the clock must still run on)."""
    rows = ["ts,sensor,kind,room,value"]
    start = datetime(2024, 5, 6, 7, 0)
    for day in range(3):
        for minute in range(0, 15 * 60, 7):
            ts = start + timedelta(days=day, minutes=minute)
            if day == 2 and ts.hour >= 10:
                break
            room = ("kitchen", "living", "bathroom")[minute % 3]
            rows.append(f"{ts.isoformat()},pir-{room},motion,{room},1")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_eval_activity_json_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream = tmp_path / "home.csv"
    _write_stream(stream)
    (tmp_path / "home.meta.json").write_text(json.dumps({"residents": 2}), encoding="utf-8")
    args = _parse(["activity", str(stream), "--until", "2024-05-08T16:00:00", "--json"])
    assert args.func(args, None) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"alerts", "alerts_per_resident_day"} <= out.keys()
    assert out["residents"] == 2
    assert out["alerts"], "the silence after 10:00 on the last day must be detected by the virtual clock"
    alert = out["alerts"][0]
    assert {"ts", "type", "severity", "explanation", "explanation_en"} <= alert.keys()
    assert alert["type"] in {"inactivity", "bathroom_prolonged"}
    assert datetime.fromisoformat(alert["ts"]) <= datetime(2024, 5, 8, 12, 0)
    days = (datetime(2024, 5, 8, 16, 0) - datetime(2024, 5, 6, 7, 0)).total_seconds() / 86400
    assert out["alerts_per_resident_day"] == pytest.approx(len(out["alerts"]) / (2 * days))


def test_eval_activity_text_output_without_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream = tmp_path / "other.csv"
    _write_stream(stream)
    args = _parse(["activity", str(stream)])
    assert args.func(args, None) == 0
    assert "per resident-day" in capsys.readouterr().out


def test_eval_activity_skips_unreadable_rows_and_reads_on_off_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real exports have broken lines and ON/OFF words: bad rows are skipped and reported, never a traceback."""
    stream = tmp_path / "odd.csv"
    _write_stream(stream)
    with stream.open("a", encoding="utf-8") as fh:
        fh.write("not-a-time,pir-kitchen,motion,kitchen,1\n")
        fh.write("2024-05-08T09:00:00,pir-kitchen,motion,kitchen,maybe\n")
        fh.write("2024-05-08 09:59:30,front,door,entrance,OPEN\n")  # space separator and a word: readable
    args = _parse(["activity", str(stream), "--until", "2024-05-08T16:00:00", "--json"])
    assert args.func(args, None) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["skipped_rows"] == 2
    assert "skipped 2 unreadable row(s)" in captured.err and "not-a-time" in captured.err
    # the door opening at 09:59 was read (an exit): the silence after it is "went out", not flagged
    assert json.loads(captured.out)["alerts"] == []


def test_eval_activity_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _parse(["activity", str(tmp_path / "missing.csv")])
    assert args.func(args, None) == 2
    (tmp_path / "cols.csv").write_text("time,sensor,value\n2024-01-01T00:00:00,a,1\n", encoding="utf-8")
    args = _parse(["activity", str(tmp_path / "cols.csv")])
    assert args.func(args, None) == 2
    assert "missing columns" in capsys.readouterr().err
    stream = tmp_path / "ok.csv"
    _write_stream(stream)
    args = _parse(["activity", str(stream), "--until", "tomorrow"])
    assert args.func(args, None) == 2


def test_parse_value_words() -> None:
    from alerts.activity import parse_value

    assert [parse_value(v) for v in ("1", "0", "ON", "off", "Open", "CLOSE", "occupied", "2", "0.0")] == [
        1, 0, 1, 0, 1, 0, 1, 1, 0
    ]  # fmt: skip
    for bad in ("", "maybe", "nan"):
        with pytest.raises(ValueError):
            parse_value(bad)
