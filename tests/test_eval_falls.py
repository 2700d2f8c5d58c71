"""``eldercare eval falls``: the CLI on a tiny Format F folder, and the detector on held-out real data.

The real-data figures assert what the detector reaches on subjects it was not tuned on (even-numbered subjects;
tuning used odd-numbered ones, see docs/detection-falls.md). The data folder is required: a missing folder fails.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest

from alerts.eval_falls import add_falls_parser, evaluate_dir, run

DATA = Path(os.environ.get("ELDERCARE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _write_trial(path: Path, t: np.ndarray, acc: np.ndarray) -> None:
    rows = ["t,ax,ay,az"] + [f"{ti:.4f},{a[0]:.4f},{a[1]:.4f},{a[2]:.4f}" for ti, a in zip(t, acc, strict=True)]
    path.write_text("\n".join(rows) + "\n")


def _make_dir(tmp: Path) -> Path:
    rng = np.random.default_rng(3)
    t = np.arange(0.1, 15.0, 0.05)
    fall = np.tile([1.0, 0.0, 0.0], (t.size, 1))
    fall[(t >= 4.6) & (t < 5.0)] = [0.2, 0.0, 0.0]
    fall[(t >= 5.0) & (t < 5.1)] = [2.5, 0.0, 3.0]
    fall[t >= 5.1] = [0.0, 0.0, 1.0]
    fall += 0.01 * rng.standard_normal(fall.shape)
    _write_trial(tmp / "fall1.csv", t, fall)
    walk = np.column_stack((1.0 + 0.3 * np.sin(2 * np.pi * 2 * t), 0.1 * np.cos(2 * np.pi * 2 * t), 0 * t))
    order = rng.permutation(t.size)  # unsorted rows, a duplicate time and a NaN row: tolerated
    walk_t, walk_a = t[order], walk[order]
    walk_t[5] = walk_t[6]
    walk_a[7] = np.nan
    _write_trial(tmp / "walk1.csv", walk_t, walk_a)
    _write_trial(tmp / "short.csv", t[:3], walk[:3])
    (tmp / "labels.csv").write_text("file,label\nfall1.csv,fall\nwalk1.csv,adl\nshort.csv,adl\nmissing.csv,fall\n")
    return tmp


def _args(directory: Path, json_out: bool = True) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_falls_parser(parser.add_subparsers())
    return parser.parse_args(["falls", str(directory), *(["--json"] if json_out else [])])


def test_cli_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(_make_dir(tmp_path))
    assert args.func is run
    rc = args.func(args, None)
    captured = capsys.readouterr()
    assert rc == 1  # one listed trial is missing: reported, and the exit code says so
    assert "missing.csv" in captured.err
    res = json.loads(captured.out)
    for key in ("per_trial", "sensitivity", "specificity", "false_alarms_per_hour", "tp", "fn", "tn", "fp"):
        assert key in res
    assert res["adl_hours"] > 0
    by_file = {p["file"]: p for p in res["per_trial"]}
    assert set(by_file) == {"fall1.csv", "walk1.csv", "short.csv"}
    for p in res["per_trial"]:
        assert {"file", "detected", "t_detect"} <= set(p)
    assert by_file["fall1.csv"]["detected"] is True and by_file["fall1.csv"]["t_detect"] > 5.0
    assert by_file["walk1.csv"]["detected"] is False and by_file["walk1.csv"]["t_detect"] is None
    assert any("sorted" in w for w in by_file["walk1.csv"]["warnings"])
    assert res["errors"] == [{"file": "missing.csv", "error": "trial file not found: missing.csv"}]
    assert (res["tp"], res["fn"], res["tn"], res["fp"]) == (1, 0, 2, 0)
    assert res["sensitivity"] == 1.0 and res["specificity"] == 1.0


def test_missed_fall_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A trial labelled fall that is not detected reports its strongest impact and the check it failed."""
    t = np.arange(0.1, 15.0, 0.02)
    acc = np.tile([1.0, 0.0, 0.0], (t.size, 1))
    acc[(t >= 5.0) & (t < 5.1)] = [2.8, 0.0, 0.0]  # a hard bump, but upright and unchanged afterwards
    _write_trial(tmp_path / "bump.csv", t, acc)
    (tmp_path / "labels.csv").write_text("file,label\nbump.csv,fall\n")
    res = evaluate_dir(tmp_path)
    row = res["per_trial"][0]
    assert row["detected"] is False and row["strongest_impact"]["peak_g"] >= 2.7
    assert "orientation" in row["strongest_impact"]["why_not"] or "energy" in row["strongest_impact"]["why_not"]
    run(_args(tmp_path, json_out=False), None)
    assert "missed fall  bump.csv -- strongest impact 2.8 g" in capsys.readouterr().out


def test_cli_text_and_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(_make_dir(tmp_path), json_out=False)
    args.func(args, None)
    assert "sensitivity" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(_args(empty), None) == 2


def _require(name: str) -> Path:
    path = DATA / name
    if not (path / "labels.csv").is_file():
        pytest.fail(f"real data missing: {path} (set ELDERCARE_SHARED_DATA)")
    return path


# Held-out figures reached (even-numbered subjects, never used to choose thresholds; docs/detection-falls.md
# counts the looks): v4 waist 98.4 % / 98.5 %, pocket 98.4 % / 98.8 %. Both sets are asserted at the acceptance
# bounds (>= 95 % sensitivity, >= 98 % specificity), so one more error on either ADL side fails the test.
def test_heldout_waist_even_subjects() -> None:
    res = evaluate_dir(_require("falls-umafall-waist"), split="even")
    assert res["errors"] == []
    assert res["falls"] == 125 and res["adls"] == 67
    assert res["sensitivity"] >= 0.95
    assert res["specificity"] >= 0.98


def test_heldout_pocket_even_subjects() -> None:
    res = evaluate_dir(_require("falls-umafall-pocket"), split="even")
    assert res["errors"] == []
    assert res["falls"] == 125 and res["adls"] == 81
    assert res["sensitivity"] >= 0.95
    assert res["specificity"] >= 0.98
