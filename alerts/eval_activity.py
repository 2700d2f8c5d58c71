"""``eldercare eval activity FILE``: replay one home's Format A stream through the live inactivity detectors.

The stream is replayed on a virtual clock that ticks every minute (and at each event) up to ``--until`` (default:
the last event), so silences are detected exactly as the live path detects them with its real clock. Learning is
online: the monitor starts cold and only ever sees the past. The same module offers the injected-silence latency
experiment used by the tests and docs/detection-activity.md.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.activity import HomeEvent, ResidentProfile
from alerts.alert import Alert
from alerts.inactivity import DetectorConfig, HomeActivityMonitor

SILENCE_TYPES = frozenset({"inactivity", "bathroom_prolonged", "no_morning_rise"})


def read_events(path: Path, problems: list[str] | None = None) -> list[HomeEvent]:
    """Read a Format A CSV (``ts,sensor,kind,room,value``), sorted by time (stable for equal timestamps).

    A row that cannot be read (bad timestamp, a value that is not 1/0 or on/off, a missing cell) is skipped, not
    fatal: real exports have the odd broken line. Each is described in ``problems`` when a list is given. A file
    without the required columns raises ValueError.
    """
    events = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames:
            reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
        missing = {"ts", "sensor", "kind", "room", "value"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)} (need ts,sensor,kind,room,value)")
        for row in reader:
            try:
                events.append(HomeEvent.from_row(row))
            except (ValueError, TypeError, AttributeError) as exc:
                if problems is not None:
                    problems.append(f"line {reader.line_num}: {exc}")
    return sorted(events, key=lambda e: e.ts)


def read_residents(path: Path) -> int:
    """Number of residents from ``<name>.meta.json`` beside the stream (1 when absent)."""
    meta = path.with_name(path.name.removesuffix(".csv") + ".meta.json")
    if not meta.exists():
        return 1
    value = json.loads(meta.read_text(encoding="utf-8")).get("residents", 1)
    return max(1, int(value or 1))


@dataclass(frozen=True)
class Evaluation:
    alerts: list[Alert]
    residents: int
    days: float

    @property
    def alerts_per_resident_day(self) -> float:
        return len(self.alerts) / (self.residents * self.days) if self.days > 0 else float(len(self.alerts))

    def to_json(self) -> dict[str, Any]:
        return {
            "alerts": [
                {
                    "ts": a.ts.isoformat(),
                    "type": a.type,
                    "severity": a.severity.value,
                    "explanation": f"{a.explanation_zh} / {a.explanation_en}",
                    "explanation_en": a.explanation_en,
                    "evidence": a.evidence,
                }
                for a in self.alerts
            ],
            "alerts_per_resident_day": self.alerts_per_resident_day,
            "alerts_per_resident_30_days": 30 * self.alerts_per_resident_day,
            "residents": self.residents,
            "days": round(self.days, 3),
        }


def evaluate(
    events: Sequence[HomeEvent],
    until: datetime | None = None,
    residents: int = 1,
    profile: ResidentProfile | None = None,
    config: DetectorConfig | None = None,
) -> Evaluation:
    """Replay a stream from a cold start and return every alert (the live detector code, virtual clock)."""
    if not events:
        return Evaluation([], residents, 0.0)
    end = until or events[-1].ts
    profile = profile or ResidentProfile(lives_alone=residents == 1)
    monitor = HomeActivityMonitor(profile, config)
    alerts = monitor.replay([e for e in events if e.ts <= end], until=end)
    days = (end - events[0].ts).total_seconds() / 86400
    return Evaluation(alerts, residents, days)


@dataclass(frozen=True)
class InjectedSilence:
    """Result of one synthetic silence: the stream is cut at ``cut`` and nothing happens for the horizon."""

    cut: datetime
    context: str
    usual_events_per_hour: float
    alert_ts: datetime | None
    alert_type: str | None

    @property
    def latency_minutes(self) -> float | None:
        return None if self.alert_ts is None else (self.alert_ts - self.cut).total_seconds() / 60


def injected_silences(
    events: Sequence[HomeEvent],
    cuts: Iterable[datetime],
    horizon: timedelta = timedelta(hours=8),
    profile: ResidentProfile | None = None,
    config: DetectorConfig | None = None,
) -> list[InjectedSilence]:
    """Detection latency of synthetic silences: replay online up to each cut, then drop all later events.

    One pass over the stream; at each cut the monitor is copied and its clock run on alone for ``horizon``.
    ``usual_events_per_hour`` is the learned event rate over the hour after the cut (how active that hour is
    for this person), ``context`` where the person was last seen.
    """
    monitor = HomeActivityMonitor(profile, config)
    results: list[InjectedSilence] = []
    pending = sorted(cuts)
    i = 0
    for cut in pending:
        batch = []
        while i < len(events) and events[i].ts <= cut:
            batch.append(events[i])
            i += 1
        monitor.replay(batch, until=cut)
        alone = copy.deepcopy(monitor)
        usual = alone.routine.expected_events(cut, cut + timedelta(hours=1))
        found = [a for a in alone.replay([], until=cut + horizon) if a.type in SILENCE_TYPES]
        results.append(
            InjectedSilence(
                cut=cut,
                context=alone.context,
                usual_events_per_hour=usual,
                alert_ts=found[0].ts if found else None,
                alert_type=found[0].type if found else None,
            )
        )
    return results


def hourly_cuts(
    events: Sequence[HomeEvent], hours: Iterable[int] = range(8, 22), warmup_days: int = 2
) -> list[datetime]:
    """Cut times for :func:`injected_silences`: every given full hour of every day after a warm-up."""
    hours = sorted(hours)
    if not events or not hours:
        return []
    day = datetime.combine(events[0].ts.date(), datetime.min.time()) + timedelta(days=warmup_days)
    out = []
    while day + timedelta(hours=hours[-1] + 1) < events[-1].ts:
        out += [day + timedelta(hours=h) for h in hours]
        day += timedelta(days=1)
    return out


def context_group_of(context: str) -> str:
    """Report groups of a cut's context: up and about at home, on a seat, in bed, or out."""
    return context if context in {"bed", "seat", "away"} else "up"


def silence_report(results: Sequence[InjectedSilence], budget_minutes: float = 120.0) -> dict[str, Any]:
    """Latency summary of injected silences by context group and by how active the hour usually is."""

    def summary(rows: Sequence[InjectedSilence]) -> dict[str, Any]:
        lat = sorted(r.latency_minutes if r.latency_minutes is not None else math.inf for r in rows)
        med = lat[len(lat) // 2] if lat else math.nan
        return {
            "n": len(rows),
            "within_30_min": sum(v <= 30 for v in lat),
            f"within_{budget_minutes:.0f}_min": sum(v <= budget_minutes for v in lat),
            "flagged": sum(math.isfinite(v) for v in lat),
            "median_min": None if not math.isfinite(med) else round(med, 1),
        }

    groups: dict[str, list[InjectedSilence]] = {}
    for r in results:
        groups.setdefault(context_group_of(r.context), []).append(r)
    bands = ((0.0, 5.0), (5.0, 10.0), (10.0, 20.0), (20.0, math.inf))
    by_rate = {}
    for lo, hi in bands:
        rows = [r for r in results if r.context != "away" and lo <= r.usual_events_per_hour < hi]
        if rows:
            by_rate[f"{lo:.0f}-{hi:.0f}" if math.isfinite(hi) else f">={lo:.0f}"] = summary(rows)
    return {
        "cuts": len(results),
        "by_context": {g: summary(rows) for g, rows in sorted(groups.items())},
        "by_usual_events_per_hour": by_rate,
    }


def run(args: argparse.Namespace, settings: object) -> int:
    """Entry point of ``eldercare eval activity`` (settings are not needed: the evaluation does no I/O besides
    reading FILE)."""
    path = Path(args.file)
    problems: list[str] = []
    try:
        events = read_events(path, problems)
        until = datetime.fromisoformat(args.until).replace(tzinfo=None) if args.until else None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"eldercare eval activity: {exc}", file=sys.stderr)
        return 2
    if problems:
        shown = "; ".join(problems[:5]) + (f"; ... ({len(problems) - 5} more)" if len(problems) > 5 else "")
        print(f"eldercare eval activity: skipped {len(problems)} unreadable row(s): {shown}", file=sys.stderr)
    if not events:
        print(f"eldercare eval activity: no readable events in {path}", file=sys.stderr)
        return 2
    residents = read_residents(path)
    profile = ResidentProfile(lives_alone=residents == 1, fall_risk=args.fall_risk)
    if args.silences:
        return _run_silences(args, events, profile)
    result = evaluate(events, until, residents, profile)
    if args.json:
        json.dump({**result.to_json(), "skipped_rows": len(problems)}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for a in result.alerts:
            print(f"{a.ts:%Y-%m-%d %H:%M} {a.type:<18} {a.severity.value:<8} {a.explanation_zh}")
            print(f"{'':<36}{a.explanation_en}")
        print(
            f"{len(result.alerts)} alerts over {result.days:.1f} days, {residents} resident(s): "
            f"{result.alerts_per_resident_day:.4f} per resident-day "
            f"({30 * result.alerts_per_resident_day:.2f} per resident per 30 days)"
        )
    return 0


def _run_silences(args: argparse.Namespace, events: Sequence[HomeEvent], profile: ResidentProfile) -> int:
    cuts = hourly_cuts(events, range(args.from_hour, args.to_hour))
    if not args.json:
        print(
            f"injecting {len(cuts)} silences (every hour {args.from_hour:02d}-{args.to_hour - 1:02d}h after a 2-day "
            f"warm-up, {args.horizon:g} h each) ...",
            file=sys.stderr,
        )
    results = injected_silences(events, cuts, horizon=timedelta(hours=args.horizon), profile=profile)
    report = silence_report(results)
    if args.json:
        report["per_cut"] = [
            {"cut": r.cut.isoformat(), "context": r.context, "usual_events_per_hour": round(r.usual_events_per_hour, 2),
             "alert_ts": r.alert_ts.isoformat() if r.alert_ts else None, "alert_type": r.alert_type,
             "latency_min": r.latency_minutes}
            for r in results
        ]  # fmt: skip
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0

    def line(label: str, row: dict[str, Any]) -> str:
        med = "-" if row["median_min"] is None else f"{row['median_min']:.0f} min"
        cells = f"{row['n']:>4} {row['within_30_min']:>9} {row['within_120_min']:>7} {row['flagged']:>8} {med:>8}"
        return f"{label:<34} {cells}"

    print(f"{'where the person was at the cut':<34} {'n':>4} {'<=30 min':>9} {'<=2 h':>7} {'flagged':>8} {'median':>8}")
    for group, row in report["by_context"].items():
        print(line(group, row))
    print("usual events in the hour after the cut")
    for band, row in report["by_usual_events_per_hour"].items():
        print(line(f"  {band}", row))
    return 0


def add_activity_parser(eval_subparsers: Any) -> argparse.ArgumentParser:
    """Add ``activity`` to the ``eldercare eval`` subcommands."""
    parser: argparse.ArgumentParser = eval_subparsers.add_parser(
        "activity",
        help="replay a home's sensor CSV (ts,sensor,kind,room,value) through the inactivity/routine detectors",
        description=__doc__,
    )
    parser.add_argument("file", metavar="FILE", help="Format A CSV of one home (a <name>.meta.json may sit beside it)")
    parser.add_argument("--until", default=None, help="run the virtual clock to this ISO time (default: last event)")
    parser.add_argument("--json", action="store_true", help="print the alerts and rates as JSON")
    parser.add_argument("--fall-risk", action="store_true", help="treat the resident as fall-risk (night bed exit)")
    parser.add_argument(
        "--silences",
        action="store_true",
        help="latency experiment instead: cut the stream at every full hour (see --from-hour/--to-hour) after a "
        "2-day warm-up, run the clock on alone, and report how fast each injected silence is flagged",
    )
    parser.add_argument("--from-hour", type=int, default=8, help="first cut hour of each day (--silences; default 8)")
    parser.add_argument("--to-hour", type=int, default=22, help="cut hours end before this (--silences; default 22)")
    parser.add_argument("--horizon", type=float, default=8.0, help="hours of silence after each cut (default 8)")
    parser.set_defaults(func=run)
    return parser
