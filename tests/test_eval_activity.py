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
