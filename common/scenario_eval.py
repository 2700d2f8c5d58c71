"""``eldercare eval scenarios``: simulator scenarios replayed end to end through MQTT and ingest into the anomaly
core, scored against the simulator's ground-truth labels (precision and recall per alert type).

Pipeline: the simulator writes a labelled message stream (accelerated, virtual time) -> a private Mosquitto ->
the real ingest service (validation, rejects, COPY) -> its pre-commit listener hands every accepted message to
the same :class:`alerts.engine.DetectionEngine` the live worker runs. Days of virtual time pass in seconds, so the
engine's clock is the message time (``tick`` every virtual minute, never ahead of the newest message) instead of
the wall clock; the live worker ticks with the wall clock. That is the only difference from production.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from common.db import connect, drop_database, with_dbname
from common.localservices import start_mosquitto
from common.migrate import migrate
from common.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SCENARIO = REPO / "simulator" / "scenarios" / "smoke.yaml"

# label kind -> (alert type, window after the label time in which the alert must come)
EXPECTED: dict[str, tuple[str, timedelta]] = {
    "fall": ("fall", timedelta(minutes=2)),  # plus long_lie stages up to its lie_minutes (see _explains)
    "long_lie": ("long_lie", timedelta(minutes=65)),
    "zone_exit": ("zone_exit", timedelta(minutes=30)),
    "device_silent": ("device_silent", timedelta(hours=3)),
    "device_failure": ("device_silent", timedelta(hours=3)),
    "sos": ("sos", timedelta(minutes=2)),
    "no_morning_rise": ("no_morning_rise", timedelta(hours=6)),
    "prolonged_bathroom": ("bathroom_prolonged", timedelta(hours=2)),
    "not_returned_to_bed": ("not_back_in_bed", timedelta(hours=3)),
    "night_wandering": ("night_wandering", timedelta(hours=1)),
    "bed_exit": ("bed_exit_night", timedelta(hours=1)),
}
# Background events that legitimately explain an alert (a short radio outage of a safety-critical device).
# Messages of a device replaced by malformed ones are rejected, so the platform rightly sees it go quiet.
EXPLAINS: dict[str, tuple[str, timedelta]] = {
    "device_offline": ("device_silent", timedelta(hours=3)),
    "malformed": ("device_silent", timedelta(hours=3)),
}
# Alerts of another type that describe the same injected situation correctly: a fall-risk resident who gets up at
# night and does not come back (``not_returned_to_bed``, a dementia resident's ``night_wandering``) *is* out of bed
# at night for longer than ``bed_exit_minutes`` -- exactly what ``bed_exit_night`` says.
ALSO_EXPLAINS: dict[str, tuple[tuple[str, timedelta], ...]] = {
    "not_returned_to_bed": (("bed_exit_night", timedelta(hours=3)),),
    "night_wandering": (("bed_exit_night", timedelta(hours=1)),),
}
EARLY = timedelta(minutes=2)  # clock jitter between the label and the detector
# ``bed_exit_night`` means "out of bed at night and not back within bed_exit_minutes" (issue 4, default 20 min):
# a shorter labelled exit must *not* raise it, so it is scored as expected-silent (an alert there is unexplained).
BED_EXIT_MINUTES = 20.0


def _expected_silent(label: Label) -> bool:
    minutes = label.details.get("minutes")
    return label.kind == "bed_exit" and minutes is not None and float(minutes) < BED_EXIT_MINUTES


@dataclass(frozen=True)
class Label:
    time: datetime
    kind: str
    site: str | None
    resident: str | None
    details: dict[str, Any]


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_labels(path: Path) -> list[Label]:
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Label(_parse_time(d["time"]), d["kind"], d.get("site"), d.get("resident"), d.get("details", {})))
    return out


def _lie_window(label: Label) -> timedelta | None:
    """A fall with a known time on the floor explains the long-lie stages raised within it."""
    if label.kind != "fall" or label.details.get("lie_minutes") is None:
        return None
    return timedelta(minutes=float(label.details["lie_minutes"]) + 1)


def _matches(label: Label, alert: Any, want: str, window: timedelta) -> bool:
    if alert.type != want or not (label.time - EARLY <= alert.ts <= label.time + window):
        return False
    if label.site and alert.site_id and label.site != alert.site_id:
        return False
    if want == "device_silent":
        device = label.details.get("device")
        return device is None or alert.evidence.get("device_id", device) == device
    return not (label.resident and alert.resident_id and label.resident != alert.resident_id)


def score(labels: Sequence[Label], alerts: Sequence[Any]) -> dict[str, Any]:
    """Recall per injected event kind, precision per alert type; unmatched ones listed for inspection."""
    per_type: dict[str, dict[str, Any]] = defaultdict(lambda: {"labels": 0, "detected": 0, "alerts": 0, "true": 0})
    missed: list[dict[str, Any]] = []
    explained = [False] * len(alerts)
    silent: dict[str, int] = defaultdict(int)
    for label in labels:
        if _expected_silent(label):
            silent[label.kind] += 1
        elif label.kind in EXPECTED:
            want, window = EXPECTED[label.kind]
            row = per_type[want]
            row["labels"] += 1
            hits = [i for i, a in enumerate(alerts) if _matches(label, a, want, window)]
            if hits:
                row["detected"] += 1
            else:
                missed.append({"kind": label.kind, "time": label.time.isoformat(), "site": label.site,
                               "resident": label.resident})  # fmt: skip
            for i in hits:
                explained[i] = True
            for other, other_window in ALSO_EXPLAINS.get(label.kind, ()):
                for i, a in enumerate(alerts):
                    if _matches(label, a, other, other_window):
                        explained[i] = True
            lie = _lie_window(label)
            if lie is not None:  # lying on the floor is also a silence: long-lie stages and inactivity are right
                for i, a in enumerate(alerts):
                    if _matches(label, a, "long_lie", lie) or _matches(label, a, "inactivity", lie):
                        explained[i] = True
        elif label.kind in EXPLAINS:
            want, window = EXPLAINS[label.kind]
            for i, a in enumerate(alerts):
                if _matches(label, a, want, window):
                    explained[i] = True
    false_alerts = []
    for i, a in enumerate(alerts):
        row = per_type[a.type]
        row["alerts"] += 1
        if explained[i]:
            row["true"] += 1
        else:
            false_alerts.append({"type": a.type, "ts": a.ts.isoformat(), "site": a.site_id, "resident": a.resident_id,
                                 "explanation_en": a.explanation_en})  # fmt: skip
    table = {}
    for t, row in sorted(per_type.items()):
        table[t] = {
            **row,
            "recall": round(row["detected"] / row["labels"], 3) if row["labels"] else None,
            "precision": round(row["true"] / row["alerts"], 3) if row["alerts"] else None,
        }
    return {"per_type": table, "missed": missed, "false_alerts": false_alerts, "expected_silent": dict(silent)}


class _Collector:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, accepted: Sequence[Any]) -> None:
        with self.lock:
            self.items.extend(accepted)


def _progress(msg: str) -> None:
    print(f"[eval scenarios] {msg}", file=sys.stderr, flush=True)


def run_detection(items: Sequence[Any], registry: Any, tick: timedelta = timedelta(minutes=1),
                  tail: timedelta = timedelta(0), future: timedelta = timedelta(minutes=5)) -> list[Any]:  # fmt: skip
    """Feed messages in arrival order to a fresh engine on a virtual clock (the newest message time).

    The clock stops at the last message (``tail`` = 0): beyond it every device would look silent.
    """
    from alerts.convert import Reading
    from alerts.engine import DetectionEngine

    # On the live path the receive time is within moments of the message time; in a replay it is the wall clock
    # of the replay, so use the message time for both (device-silence checks compare against it).
    items = [Reading(i.device_id, i.kind, i.ts, i.message, received_at=i.ts) for i in items]
    if not items:
        return []
    # Devices were registered moments ago (wall clock) for data that lies in the past: their silence clocks must
    # start with the stream, not at registration.
    registry = dataclasses.replace(
        registry, devices={k: dataclasses.replace(d, created_at=None) for k, d in registry.devices.items()}
    )
    start = min(i.ts for i in items)
    engine = DetectionEngine(registry, now=start)
    alerts: list[Any] = []
    clock = start
    for item in items:
        if item.ts > clock + future:
            # Live, ingest rejects a timestamp this far ahead of its wall clock (future_timestamp); here the
            # wall clock of the replay is meaningless, so apply the same rule against the message clock.
            continue
        while item.ts >= clock + tick:
            clock += tick
            alerts += engine.tick(clock)
        alerts += engine.process(item)
    end = clock + tail
    while clock < end:
        clock += tick
        alerts += engine.tick(clock)
    return alerts


def evaluate(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from alerts.store import AlertStore
    from devices.registry import load_registry, read_registry
    from ingest.service import IngestService

    work = Path(tempfile.mkdtemp(prefix="eldercare-eval-"))
    url = with_dbname(settings.database_url, f"eldercare_eval_{uuid.uuid4().hex[:8]}")
    broker = start_mosquitto(work / "broker")
    try:
        stream, labels_path, registry_path = work / "stream.jsonl", work / "labels.jsonl", work / "registry.yaml"
        sim = [sys.executable, "-m", "common.cli", "simulate", "--homes", str(args.homes), "--facilities",
               str(args.facilities), "--beds", str(args.beds), "--days", str(args.days), "--seed", str(args.seed),
               "--scenario", str(args.scenario), "--accelerated", "--no-progress", "--output", str(stream),
               "--labels", str(labels_path), "--registry-out", str(registry_path)]  # fmt: skip
        if args.start:
            sim += ["--start", args.start]
        _progress(f"simulating {args.days} day(s): {args.homes} homes, {args.facilities} facilities ({args.scenario})")
        subprocess.run(sim, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        n_messages = sum(1 for _ in stream.open())
        migrate(url)
        with connect(url) as conn:
            load_registry(conn, read_registry(registry_path))
        collector = _Collector()
        cfg = settings.model_copy(update={
            "database_url": url, "mqtt_host": broker.host, "mqtt_port": broker.port, "topic_prefix": "",
            "ingest_client_id": f"eval-{uuid.uuid4().hex[:6]}", "ingest_metrics_interval_s": 3600.0,
        })  # fmt: skip
        service = IngestService(cfg, listeners=[collector])
        service.start()
        try:
            _progress(f"replaying {n_messages:,} messages over MQTT into ingest")
            t0 = time.monotonic()
            with stream.open() as fh:
                first_t = json.loads(fh.readline())["t"]  # replay from the recorded start: no time shift
            subprocess.run(
                [sys.executable, "-m", "common.cli", "simulate", "--replay", str(stream), "--speed", "0",
                 "--start", first_t, "--no-progress", "--host", broker.host, "--port", str(broker.port)],
                check=True, cwd=REPO, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + 600
            while service.stats.received < n_messages and time.monotonic() < deadline:
                time.sleep(0.1)
            while service.backlog and time.monotonic() < deadline:
                time.sleep(0.1)
            elapsed = time.monotonic() - t0
        finally:
            service.stop()
        stats = service.stats.snapshot()
        registry = AlertStore(url).load_registry()
        _progress(f"ingested in {elapsed:.1f} s; running detection on the virtual clock")
        alerts = run_detection(collector.items, registry)
        result = score(read_labels(labels_path), alerts)
        result["ingest"] = {"messages": n_messages, **stats}
        result["alerts_total"] = len(alerts)
        return result
    finally:
        broker.stop()
        drop_database(url)
        shutil.rmtree(work, ignore_errors=True)


def add_scenarios_parser(esub: argparse._SubParsersAction) -> None:
    p = esub.add_parser("scenarios", help="simulator scenarios end to end through MQTT + ingest: precision/recall",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario YAML (default: smoke.yaml)")
    p.add_argument("--homes", type=int, default=5)
    p.add_argument("--facilities", type=int, default=1)
    p.add_argument("--beds", type=int, default=40)
    p.add_argument("--days", type=float, default=2)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--start", help="virtual start (ISO local time), for reproducible runs")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    result = evaluate(args, settings)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{'alert type':<20} {'injected':>8} {'detected':>8} {'recall':>7} {'alerts':>7} {'precision':>9}")
    for t, row in result["per_type"].items():
        rec = "-" if row["recall"] is None else f"{row['recall']:.2f}"
        prec = "-" if row["precision"] is None else f"{row['precision']:.2f}"
        print(f"{t:<20} {row['labels']:>8} {row['detected']:>8} {rec:>7} {row['alerts']:>7} {prec:>9}")
    for kind, n in result.get("expected_silent", {}).items():
        print(f"{n} {kind} label(s) below the alert's definition (e.g. back in bed within 20 min): no alert expected")
    for m in result["missed"]:
        print(f"missed: {m}")
    for f in result["false_alerts"][:20]:
        print(f"unexplained alert: {f}")
    return 0
