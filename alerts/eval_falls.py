"""``eldercare eval falls DIR``: score the live fall detector on a folder of labelled trials (Format F).

Format F: ``DIR/labels.csv`` (``file,label``; label ``fall`` or ``adl``) and one CSV per trial with header
``t,ax,ay,az`` (seconds from trial start, acceleration in g, any -- possibly irregular -- rate). An optional
``subjects.csv`` (``file,subject,age_group,activity``) enables ``--split odd|even`` (by subject number, the
tuning/held-out split of docs/detection-falls.md) and per-activity and per-age-group breakdowns.

Each trial runs through exactly the live code path: a fresh :class:`alerts.falls.FallDetector` fed in ~1 s
batches (as wearables send them), then :meth:`~alerts.falls.FallDetector.flush` at the end of the trial. A trial
is *detected* when at least one fall was reported. False alarms per hour counts every detection in ADL trials
over the total ADL recording time.

Odd files never abort the run: a missing or unreadable trial is reported under ``errors`` (and the command
exits 1), rows with NaNs are dropped, unsorted times are sorted, duplicate times keep their first sample, and a
trial too short to hold a decision window is simply not detected (reported with a warning).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alerts.falls import FallConfig, FallDetection, FallDetector, detect_falls

__all__ = ["TrialError", "add_falls_parser", "evaluate_dir", "load_trial", "run"]

_COLUMNS = ("t", "ax", "ay", "az")
_LABELS = {"fall", "adl"}


class TrialError(Exception):
    """A trial file (or the labels file) cannot be used; the message says why."""


@dataclass(slots=True)
class Trial:
    """One loaded trial, cleaned for the detector, with notes on what cleaning was needed."""

    t: np.ndarray
    acc: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) if self.t.size > 1 else 0.0


def load_trial(path: Path) -> Trial:
    """Read a Format F trial CSV; tolerate NaNs, unsorted and duplicate times (noted in ``warnings``)."""
    if not path.is_file():
        raise TrialError(f"trial file not found: {path.name}")
    try:
        with path.open(newline="") as fh:
            header = [h.strip().lower() for h in next(csv.reader(fh), [])]
    except (OSError, UnicodeDecodeError) as exc:
        raise TrialError(f"cannot read {path.name}: {exc}") from None
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise TrialError(f"{path.name}: header lacks column(s) {', '.join(missing)} (need t,ax,ay,az)")
    cols = [header.index(c) for c in _COLUMNS]
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty files / bad cells are handled below, not printed
        try:
            data = np.loadtxt(path, delimiter=",", skiprows=1, usecols=cols, ndmin=2, dtype=np.float64)
        except ValueError:
            # non-numeric cells: slower parser that turns them into NaN (dropped below)
            data = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=cols, dtype=np.float64)
            data = np.atleast_2d(data) if data.size else np.empty((0, 4))
            notes.append("non-numeric values")
    if data.ndim != 2 or data.shape[1] != 4:
        data = np.empty((0, 4))
    finite = np.isfinite(data).all(axis=1)
    if not finite.all():
        notes.append(f"{int((~finite).sum())} rows with NaN/inf dropped")
        data = data[finite]
    t, acc = data[:, 0], data[:, 1:4]
    if t.size > 1 and np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, acc = t[order], acc[order]
        notes.append("times not sorted: sorted")
    if t.size > 1:
        dup = np.concatenate(([False], np.diff(t) == 0))
        if dup.any():
            notes.append(f"{int(dup.sum())} duplicate times: kept the first sample")
            t, acc = t[~dup], acc[~dup]
    if t.size < 2:
        notes.append("fewer than 2 usable samples")
    return Trial(t=np.ascontiguousarray(t), acc=np.ascontiguousarray(acc), warnings=notes)


def _read_labels(directory: Path) -> list[tuple[str, str]]:
    path = directory / "labels.csv"
    if not path.is_file():
        raise TrialError(f"{directory}: no labels.csv (Format F needs file,label)")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"file", "label"} <= {f.strip() for f in reader.fieldnames}:
            raise TrialError(f"{path}: header must be file,label")
        rows = []
        for i, row in enumerate(reader, start=2):
            name, label = (row.get("file") or "").strip(), (row.get("label") or "").strip().lower()
            if not name or label not in _LABELS:
                raise TrialError(f"{path}:{i}: need a file name and a label fall|adl, got {name!r}, {label!r}")
            rows.append((name, label))
    return rows


def _read_subjects(directory: Path) -> dict[str, dict[str, str]]:
    path = directory / "subjects.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh) if row.get("file")}


def _subject_number(subject: str) -> int | None:
    m = re.search(r"(\d+)", subject)
    return int(m.group(1)) if m else None


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _detection_json(d: FallDetection) -> dict[str, Any]:
    return {
        "t_detect": round(d.t_detect, 3),
        "t_impact": round(d.t_impact, 3),
        "peak_g": round(d.peak_g, 2),
        "orientation_change_deg": round(d.orientation_change_deg, 1),
        "stillness": round(d.stillness, 4),
        "score": d.score,
    }


def evaluate_dir(
    directory: Path | str, config: FallConfig | None = None, chunk_s: float = 1.0, split: str = "all"
) -> dict[str, Any]:
    """Run the detector on every labelled trial of ``directory`` and compute the scores (a JSON-ready dict).

    ``split`` = ``odd`` / ``even`` keeps subjects with an odd / even number (needs subjects.csv).
    Raises :class:`TrialError` only when the folder itself is unusable (no or bad labels.csv).
    """
    directory = Path(directory)
    labels = _read_labels(directory)
    subjects = _read_subjects(directory)
    if split != "all":
        if not subjects:
            raise TrialError(f"--split {split} needs {directory}/subjects.csv")
        want = 1 if split == "odd" else 0
        labels = [
            (f, lab)
            for f, lab in labels
            if (n := _subject_number(subjects.get(f, {}).get("subject", ""))) is not None and n % 2 == want
        ]
    cfg = config or FallConfig()
    per_trial: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    counts = {"tp": 0, "fn": 0, "tn": 0, "fp": 0}
    adl_seconds = 0.0
    fall_seconds = 0.0
    adl_detections = 0
    by_activity: dict[str, dict[str, int]] = {}
    by_age: dict[str, dict[str, int]] = {}
    for name, label in labels:
        try:
            trial = load_trial(directory / name)
        except TrialError as exc:
            errors.append({"file": name, "error": str(exc)})
            continue
        detector = FallDetector(cfg)
        dets = detect_falls(trial.t, trial.acc, chunk_s=chunk_s, detector=detector) if trial.t.size >= 2 else []
        detected = bool(dets)
        first = dets[0] if dets else None
        entry: dict[str, Any] = {
            "file": name,
            "label": label,
            "detected": detected,
            "t_detect": round(first.t_detect, 3) if first else None,
            "t_impact": round(first.t_impact, 3) if first else None,
            "peak_g": round(first.peak_g, 2) if first else None,
            "score": first.score if first else None,
            "n_detections": len(dets),
            "duration_s": round(trial.duration_s, 2),
        }
        if len(dets) > 1:
            entry["detections"] = [_detection_json(d) for d in dets]
        if first:
            entry["why"] = first.explanation["summary"]
        elif detector.strongest_rejected is not None:
            # a missed fall (or a quiet ADL): the hardest impact seen, and the check it failed
            r = detector.strongest_rejected
            entry["strongest_impact"] = {"t_impact": round(r.t_impact, 3), "peak_g": round(r.peak_g, 2),
                                         "why_not": r.why_not}  # fmt: skip
        if trial.warnings:
            entry["warnings"] = trial.warnings
        info = subjects.get(name)
        if info:
            entry["subject"] = info.get("subject")
            entry["activity"] = info.get("activity")
            entry["age_group"] = info.get("age_group")
        per_trial.append(entry)
        if label == "fall":
            counts["tp" if detected else "fn"] += 1
            fall_seconds += trial.duration_s
        else:
            counts["fp" if detected else "tn"] += 1
            adl_seconds += trial.duration_s
            adl_detections += len(dets)
        act = entry.get("activity") or label
        slot = by_activity.setdefault(act, {"trials": 0, "detected": 0})
        slot["trials"] += 1
        slot["detected"] += int(detected)
        if entry.get("age_group"):
            age = by_age.setdefault(entry["age_group"], {"falls": 0, "falls_detected": 0, "adls": 0, "adls_alarmed": 0})
            age["falls" if label == "fall" else "adls"] += 1
            age["falls_detected" if label == "fall" else "adls_alarmed"] += int(detected)
    adl_hours = adl_seconds / 3600.0
    tp, fn, tn, fp = counts["tp"], counts["fn"], counts["tn"], counts["fp"]
    return {
        "dir": str(directory),
        "split": split,
        "trials": len(per_trial),
        "falls": tp + fn,
        "adls": tn + fp,
        **counts,
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "false_alarms": adl_detections,
        "false_alarms_per_hour": round(adl_detections / adl_hours, 3) if adl_hours > 0 else None,
        "adl_hours": round(adl_hours, 4),
        "fall_hours": round(fall_seconds / 3600.0, 4),
        "by_activity": dict(sorted(by_activity.items())),
        "by_age_group": dict(sorted(by_age.items())),
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "chunk_s": chunk_s,
        "errors": errors,
        "per_trial": per_trial,
    }


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.1f}%" if pct else f"{x:.2f}"


def format_report(res: dict[str, Any]) -> str:
    """Human-readable summary: headline figures, per-activity rates, misclassified trials and errors."""
    lines = [
        f"Fall detector on {res['dir']} (split {res['split']}): {res['trials']} trials, "
        f"{res['falls']} falls, {res['adls']} ADLs, {res['adl_hours']:.2f} h of ADL",
        f"  sensitivity {_fmt(res['sensitivity'], True)} (tp {res['tp']}, fn {res['fn']})   "
        f"specificity {_fmt(res['specificity'], True)} (tn {res['tn']}, fp {res['fp']})   "
        f"false alarms/h {_fmt(res['false_alarms_per_hour'])} ({res['false_alarms']} in ADLs)",
        "",
        f"  {'activity':<28} {'trials':>6} {'detected':>8}",
    ]
    for act, s in res["by_activity"].items():
        lines.append(f"  {act:<28} {s['trials']:>6} {s['detected']:>8}")
    for age, a in res.get("by_age_group", {}).items():
        lines.append(
            f"  age group {age}: falls detected {a['falls_detected']}/{a['falls']}, "
            f"ADLs with an alarm {a['adls_alarmed']}/{a['adls']}"
        )
    wrong = [p for p in res["per_trial"] if p["detected"] != (p["label"] == "fall")]
    if wrong:
        lines += ["", "  misclassified:"]
        for p in wrong:
            kind = "missed fall" if p["label"] == "fall" else "false alarm"
            why = f" -- {p['why']}" if p.get("why") else ""
            if p.get("strongest_impact"):
                r = p["strongest_impact"]
                why = f" -- strongest impact {r['peak_g']:.1f} g at {r['t_impact']:.1f} s: {r['why_not']}"
            elif not p["detected"]:
                why = f" -- no impact >= {res['config']['impact_g']} g"
            lines.append(f"    {kind:<12} {p['file']}{why}")
    warned = [p for p in res["per_trial"] if p.get("warnings")]
    if warned:
        lines += ["", "  data warnings:"]
        lines += [f"    {p['file']}: {'; '.join(p['warnings'])}" for p in warned]
    if res["errors"]:
        lines += ["", f"  ERRORS ({len(res['errors'])} trials not evaluated):"]
        lines += [f"    {e['file']}: {e['error']}" for e in res["errors"]]
    return "\n".join(lines)


def run(args: argparse.Namespace, settings: object = None) -> int:
    """Entry point of ``eldercare eval falls``; 0 = ok, 1 = some trials could not be read, 2 = bad folder."""
    try:
        res = evaluate_dir(args.dir, chunk_s=args.chunk_s, split=args.split)
    except TrialError as exc:
        print(f"eval falls: {exc}", file=sys.stderr)
        return 2
    if args.json:
        out = dict(res)
        if not args.full:  # keep the JSON compact: per-trial evidence text only on request
            out["per_trial"] = [{k: v for k, v in p.items() if k != "why"} for p in res["per_trial"]]
        print(json.dumps(out, indent=2))
    else:
        print(format_report(res))
    for e in res["errors"]:
        print(f"eval falls: {e['file']}: {e['error']}", file=sys.stderr)
    return 1 if res["errors"] else 0


def add_falls_parser(eval_subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``falls`` subcommand to the ``eval`` sub-parsers (``set_defaults(func=run)``)."""
    p = eval_subparsers.add_parser(
        "falls",
        help="score the accelerometer fall detector on a Format F folder",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("dir", type=Path, help="folder with labels.csv and one t,ax,ay,az CSV per trial")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--full", action="store_true", help="with --json: include the evidence text per trial")
    p.add_argument(
        "--split",
        choices=("all", "odd", "even"),
        default="all",
        help="only subjects with an odd/even number (needs subjects.csv); odd = tuning set, even = held out",
    )
    p.add_argument("--chunk-s", type=float, default=1.0, help="batch length fed to the detector (default 1 s)")
    p.set_defaults(func=run)
    return p


def main(argv: list[str] | None = None) -> int:
    """Stand-alone use without the platform CLI: ``python -m alerts.eval_falls DIR``."""
    parser = argparse.ArgumentParser(prog="eval-falls")
    add_falls_parser(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(["falls", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args, None))


if __name__ == "__main__":
    sys.exit(main())
