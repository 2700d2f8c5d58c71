"""``eldercare bench detect``: sensor publish -> alert on MQTT, under background load; detector throughput.

Everything real and private to the run: our own Mosquitto, a fresh database (migrated, dropped at the end), a
registry of N homes, and ``eldercare ingest`` (detection on) as a separate process. A separate publisher
process sends paced background telemetry (PIR motion, doors, bed pads, radar presence; default 5,000 msg/s at
QoS 1) while the main process publishes falls and listens on the alert topics.

Measured, each first without background load (baseline) and then under it:

- ``fall_event``: a radar ``fall`` event (confidence 0.95) published -> its ``fall`` alert received on MQTT;
- ``accel_fall``: a wearable's accelerometer stream (1 s batches at 50 Hz, a synthetic fall: free fall, 4 g
  impact, lying still). The accelerometer detector decides 3.5 s after the impact, in the batch that completes
  its post-impact window; latency is measured from publishing *that* batch (the earlier batches are sent just
  before it, so the figure is the platform's latency, not the detector's 3.5 s decision window);
- ``samples_per_s_per_core``: the accelerometer detector alone, 10 s of 50 Hz data per device for many
  devices fed in 1 s batches, on one core.

Latency is publish -> alert on one clock (same process). Each fall is on its own home, so no cooldown applies.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from common.db import connect, drop_database, with_dbname
from common.localservices import start_mosquitto
from common.migrate import migrate
from common.settings import Settings
from devices.registry import load_registry, parse_registry
from devices.topics import ROOT, Channel, DeviceTopic

REPO = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--homes", type=int, default=600, help="homes in the registry (6 devices each) [600]")
    parser.add_argument("--falls", type=int, default=200, help="radar fall events per phase [200]")
    parser.add_argument("--accel-falls", type=int, default=50, help="wearable fall streams per phase [50]")
    parser.add_argument("--background-rate", type=float, default=5000.0, help="background msg/s [5000]")
    parser.add_argument(
        "--background-devices", type=int, default=20, help="devices sending the background load (one C client each)"
    )
    parser.add_argument("--load-seconds", type=float, default=30.0, help="length of the loaded phase [30]")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


# --- registry -----------------------------------------------------------------------------------------------


def registry_text(homes: int) -> str:
    sites = []
    for i in range(homes):
        h = f"bh{i:05d}"
        sites.append(
            {
                "id": h,
                "kind": "home",
                "name": f"bench home {i}",
                "rooms": [
                    {"id": f"{h}-bedroom", "name": "卧室", "kind": "bedroom"},
                    {"id": f"{h}-kitchen", "name": "厨房", "kind": "kitchen"},
                    {"id": f"{h}-living", "name": "客厅", "kind": "living"},
                    {"id": f"{h}-entrance", "name": "门厅", "kind": "entrance"},
                ],
                "beds": [{"id": f"{h}-bed", "room": f"{h}-bedroom", "type": "ordinary"}],
                "residents": [
                    {"id": f"{h}-r", "name": "长者", "lives_alone": i % 2 == 0, "bed": f"{h}-bed", "fall_risk": "high"}
                ],
                "devices": [
                    {"id": f"{h}-radar", "kind": "radar", "room": f"{h}-bedroom"},
                    {"id": f"{h}-pirk", "kind": "pir", "room": f"{h}-kitchen"},
                    {"id": f"{h}-pirl", "kind": "pir", "room": f"{h}-living"},
                    {"id": f"{h}-door", "kind": "door_contact", "room": f"{h}-entrance"},
                    {"id": f"{h}-bed", "kind": "bed_sensor", "bed": f"{h}-bed"},
                    {"id": f"{h}-wear", "kind": "wearable", "resident": f"{h}-r"},
                ],
            }
        )
    return yaml.safe_dump({"sites": sites}, allow_unicode=True)


# --- background load (separate process) ---------------------------------------------------------------------


BACKGROUND_KINDS = (
    ("pirk", '"kind":"motion","motion":true'),
    ("pirl", '"kind":"motion","motion":false'),
    ("door", '"kind":"door","open":true'),
    ("bed", '"kind":"bed","occupied":true,"heart_rate":62.0,"respiration_rate":15.0'),
    ("radar", '"kind":"presence","present":true,"posture":"sitting","on_floor":false'),
)


def _background(  # noqa: PLR0917 -- a multiprocessing target takes positional args
    host: str, port: int, prefix: str, devices: int, rate: float, seconds: float, q: Any
) -> None:
    """Paced QoS 1 background load: this process writes JSON lines (fresh ts, unique ids) every 10 ms into
    ``mosquitto_pub -l`` processes (Mosquitto's C client, one per device), so Python's MQTT client is not the
    bottleneck of the generator. Reports (messages, seconds)."""
    binary = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
    devs = []
    for i in range(devices):
        suffix, fields = BACKGROUND_KINDS[i % len(BACKGROUND_KINDS)]
        dev = f"bh{i // len(BACKGROUND_KINDS):05d}-{suffix}"
        topic = str(DeviceTopic(dev, Channel.TELEMETRY, prefix))
        proc = subprocess.Popen(
            [binary, "-h", host, "-p", str(port), "-q", "1", "-M", "1000", "-l", "-t", topic,
             "-i", f"bg-{uuid.uuid4().hex[:8]}"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        devs.append((proc, fields))
    time.sleep(0.5)  # connect
    slot = 0.01
    sent = 0
    seq = 0
    start = time.monotonic()
    owed = 0.0
    while time.monotonic() - start < seconds:
        owed += rate * slot
        n = int(owed)
        owed -= n
        ts = datetime.now(UTC).isoformat()
        chunks: list[list[str]] = [[] for _ in devs]
        for k in range(n):
            seq += 1
            j = (seq + k) % len(devs)
            chunks[j].append(f'{{"v":1,"id":"bg-{seq}","ts":"{ts}",{devs[j][1]}}}\n')
        for (proc, _), lines in zip(devs, chunks, strict=True):
            if lines and proc.stdin is not None:
                proc.stdin.write("".join(lines).encode())
                proc.stdin.flush()
        sent += n
        delay = start + sent / rate - time.monotonic() if rate else slot
        if delay > 0:
            time.sleep(min(slot, delay))
    elapsed = time.monotonic() - start
    for proc, _ in devs:
        if proc.stdin is not None:
            proc.stdin.close()
    for proc, _ in devs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    q.put((sent, elapsed))


# --- alert listener and fall publishers ---------------------------------------------------------------------


class Alerts:
    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.got: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}  # (site, type) -> first
        self._lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-al-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.connect(host, port)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/{ROOT}/alerts/+/fall", qos=1)
        if not ready.wait(10):
            raise RuntimeError("alert subscription not acknowledged")

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        t = time.time()
        body = json.loads(msg.payload)
        with self._lock:
            self.got.setdefault((body["site_id"], body["type"]), (t, body))

    def wait(self, keys: list[tuple[str, str]], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(k in self.got for k in keys):
                    return
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Publisher:
    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.prefix = prefix
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.max_inflight_messages_set(1000)
        self.client.connect(host, port)
        self.client.loop_start()
        self.seq = 0

    def send(self, device: str, channel: Channel, body: dict[str, Any]) -> float:
        self.seq += 1
        payload = json.dumps({"v": 1, "id": f"p{self.seq}", **body})
        t = time.time()
        self.client.publish(str(DeviceTopic(device, channel, self.prefix)), payload, qos=1)
        return t

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def fall_stream(rate: float = 50.0, seconds: int = 9) -> np.ndarray:
    """Upright, free fall at 3.5 s, a 4 g impact at 4.0 s, then lying still (g, shape (n, 3))."""
    t = np.arange(int(seconds * rate)) / rate
    acc = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    acc[(t >= 3.5) & (t < 4.0)] = [0.0, 0.0, 0.2]
    acc[(t >= 4.0) & (t < 4.06)] = [0.5, 0.5, 4.0]
    acc[t >= 4.06] = [1.0, 0.0, 0.05]
    return acc + np.random.default_rng(0).normal(0, 0.01, acc.shape)


def run_falls(
    pub: Publisher, alerts: Alerts, homes: list[int], spacing: float, parts: dict[str, list[float]] | None = None
) -> list[float]:
    sent: dict[str, float] = {}
    for h in homes:
        site = f"bh{h:05d}"
        ts = datetime.now(UTC).isoformat()
        sent[site] = pub.send(f"{site}-radar", Channel.EVENT, {"ts": ts, "kind": "fall", "confidence": 0.95})
        time.sleep(spacing)
    alerts.wait([(s, "fall") for s in sent], timeout=30)
    out = []
    for s, t in sent.items():
        if (s, "fall") not in alerts.got:
            continue
        recv, body = alerts.got[(s, "fall")]
        out.append((recv - t) * 1000)
        if parts is not None:
            # where the time goes: broker -> ingest's network thread, ingest queue + decode + detection, publish
            received = datetime.fromisoformat(body["evidence"]["received_at"]).timestamp()
            raised = datetime.fromisoformat(body["raised_at"]).timestamp()
            parts.setdefault("to_ingest", []).append((received - t) * 1000)
            parts.setdefault("ingest_and_detect", []).append((raised - received) * 1000)
            parts.setdefault("alert_delivery", []).append((recv - raised) * 1000)
    return out


def run_accel(pub: Publisher, alerts: Alerts, homes: list[int], spacing: float) -> list[float]:
    acc = fall_stream()
    rate = 50
    batches = [acc[i : i + rate] for i in range(0, acc.shape[0], rate)]
    sent: dict[str, list[float]] = {}
    starts: dict[str, datetime] = {}
    for h in homes:
        site = f"bh{h:05d}"
        t0 = datetime.now(UTC) - timedelta(seconds=len(batches))
        starts[site] = t0
        times = []
        for k, b in enumerate(batches):
            batch = {"ts": (t0 + timedelta(seconds=k)).isoformat(), "kind": "accel", "rate_hz": float(rate),
                    "unit": "g", "samples": [[round(float(x), 4) for x in row] for row in b]}  # fmt: skip
            times.append(pub.send(f"{site}-wear", Channel.TELEMETRY, batch))
        sent[site] = times
        time.sleep(spacing)
    alerts.wait([(s, "fall") for s in sent], timeout=30)
    out = []
    for site, times in sent.items():
        if (site, "fall") not in alerts.got:
            continue
        recv, body = alerts.got[(site, "fall")]
        decided = datetime.fromisoformat(body["evidence"]["decided_at"])
        k = int((decided - starts[site]).total_seconds())  # the batch holding the deciding sample
        out.append((recv - times[min(k, len(times) - 1)]) * 1000)
    return out


# --- detector throughput ------------------------------------------------------------------------------------


def detector_throughput(devices: int = 500, seconds: int = 10, rate: float = 50.0) -> float:
    from alerts.falls import FallDetector

    rng = np.random.default_rng(1)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    phase = 2 * np.pi * 2.0 * t
    base = np.column_stack((0.3 * np.sin(phase), 0.1 * np.cos(phase), 1.0 + 1.2 * np.maximum(0.0, np.sin(phase)) ** 8))
    streams = [base + 0.02 * rng.standard_normal(base.shape) for _ in range(devices)]
    dets = [FallDetector() for _ in range(devices)]
    step = int(rate)
    start = time.process_time()
    for i in range(0, n, step):  # 1 s batches, interleaved across devices as they arrive live
        for d, s in zip(dets, streams, strict=True):
            d.feed(1.7e9 + t[i : i + step], s[i : i + step])
    cpu = time.process_time() - start
    return devices * n / cpu


# --- orchestration ------------------------------------------------------------------------------------------


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"ELDERCARE_{name.upper()}"] = json.dumps(value) if isinstance(value, list) else str(value)
    return env


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return round(float(np.percentile(np.asarray(values), p)), 1)


def _wait_ready(pub: Publisher, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub.send("bh00000-radar", Channel.STATUS, {"ts": datetime.now(UTC).isoformat(), "kind": "status",
                                                   "state": "online"})  # fmt: skip
        time.sleep(0.5)
        with connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM device_status").fetchone()
        if row and row[0]:
            return
    raise RuntimeError("ingest did not come up")


def main(args: argparse.Namespace, settings: Settings) -> int:
    need = 2 * args.falls + 2 * args.accel_falls + 1
    args.homes = max(args.homes, need)
    run_id = uuid.uuid4().hex[:8]
    url = with_dbname(settings.database_url, f"ec_bench_detect_{run_id}")
    work = Path(tempfile.mkdtemp(prefix="bench-detect-"))
    broker = start_mosquitto(work / "mosquitto", persistence=False)
    proc: subprocess.Popen[bytes] | None = None
    pub = alerts = None
    try:
        migrate(url)
        with connect(url) as conn:
            load_registry(conn, parse_registry(registry_text(args.homes)))
        prefix = f"bench/{run_id}"
        run_settings = settings.model_copy(
            update={
                "database_url": url, "mqtt_host": broker.host, "mqtt_port": broker.port, "topic_prefix": prefix,
                "ingest_client_id": f"bench-ingest-{run_id}", "detect_history_days": 0.0, "detect_tick_s": 0.5,
            }
        )  # fmt: skip
        log_path = work / "ingest.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "common.cli", "ingest", "--no-migrate", "--detect"],
            env=_env(run_settings), stdout=log_path.open("wb"), stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        pub = Publisher(broker.host, broker.port, prefix)
        alerts = Alerts(broker.host, broker.port, prefix)
        _wait_ready(pub, url)

        k, m = args.falls, args.accel_falls
        base_fall = run_falls(pub, alerts, list(range(1, 1 + k)), 0.02)
        base_accel = run_accel(pub, alerts, list(range(1 + k, 1 + k + m)), 0.05)

        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        bg = [
            ctx.Process(target=_background, args=(broker.host, broker.port, prefix, args.background_devices,
                        args.background_rate, args.load_seconds, q))
        ]  # fmt: skip
        with connect(url) as conn:
            stored0 = conn.execute("SELECT count(*) FROM telemetry").fetchone()[0]  # type: ignore[index]
        for p in bg:
            p.start()
        time.sleep(min(5.0, args.load_seconds / 5))  # let the load settle
        spread = max(0.02, (args.load_seconds * 0.6) / max(1, k + m))
        parts: dict[str, list[float]] = {}
        load_fall = run_falls(pub, alerts, list(range(1 + k + m, 1 + 2 * k + m)), spread, parts)
        load_accel = run_accel(pub, alerts, list(range(1 + 2 * k + m, 1 + 2 * k + 2 * m)), spread)
        results = [q.get(timeout=args.load_seconds + 120) for _ in bg]
        for p in bg:
            p.join(30)
        bg_seconds = max(r[1] for r in results)
        bg_sent = sum(r[0] for r in results)
        # what ingest stored of the background while it ran (the detector saw each before its commit)
        time.sleep(2.0)
        with connect(url) as conn:
            stored1 = conn.execute("SELECT count(*) FROM telemetry").fetchone()[0]  # type: ignore[index]
        samples_rate = detector_throughput()
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(60)
            if proc.poll() is None:
                proc.kill()
        for c in (pub, alerts):
            if c is not None:
                c.close()
        broker.stop()
        with contextlib.suppress(Exception):
            drop_database(url)

    res: dict[str, Any] = {
        "homes": args.homes,
        "devices": args.homes * 6,
        "fall_event_n": len(load_fall),
        "fall_event_p50_ms": _pct(load_fall, 50),
        "fall_event_p99_ms": _pct(load_fall, 99),
        "fall_event_max_ms": _pct(load_fall, 100),
        "fall_event_lost": k - len(load_fall),
        "accel_fall_n": len(load_accel),
        "accel_fall_p50_ms": _pct(load_accel, 50),
        "accel_fall_p99_ms": _pct(load_accel, 99),
        "accel_fall_lost": m - len(load_accel),
        "baseline_fall_event_p50_ms": _pct(base_fall, 50),
        "baseline_fall_event_p99_ms": _pct(base_fall, 99),
        "baseline_accel_fall_p50_ms": _pct(base_accel, 50),
        "baseline_accel_fall_p99_ms": _pct(base_accel, 99),
        "background_target_msgs_per_s": args.background_rate,
        "background_msgs_per_s": round(bg_sent / bg_seconds, 1) if bg_seconds else 0.0,
        "background_stored_msgs_per_s": round((stored1 - stored0) / bg_seconds, 1) if bg_seconds else 0.0,
        "samples_per_s_per_core": round(samples_rate),
        "target_fall_event_p99_ms": 100.0,
        "fall_event_p90_ms": _pct(load_fall, 90),
        "fall_event_parts_p50_ms": {k: _pct(v, 50) for k, v in parts.items()},
        "fall_event_parts_p99_ms": {k: _pct(v, 99) for k, v in parts.items()},
    }
    for name in ("fall_event_p50_ms", "fall_event_p99_ms", "accel_fall_p50_ms", "accel_fall_p99_ms"):
        base = res.get(f"baseline_{name}")
        res[f"ratio_{name}"] = round(res[name] / base, 2) if res.get(name) and base else None
    res["meets_target"] = res["fall_event_p99_ms"] is not None and res["fall_event_p99_ms"] <= 100.0
    if args.json:
        print(json.dumps(res))
    else:
        print(format_table(res))
    return 0 if res["fall_event_lost"] == 0 and res["accel_fall_lost"] == 0 else 1


def format_table(r: dict[str, Any]) -> str:
    lines = [
        f"eldercare bench detect: {r['homes']} homes, {r['devices']} devices, background target "
        f"{r['background_target_msgs_per_s']:.0f} msg/s (achieved {r['background_msgs_per_s']:.0f} published, "
        f"{r['background_stored_msgs_per_s']:.0f} stored)",
        "",
        f"{'publish -> alert on MQTT':<34} {'no load p50':>11} {'p99':>8} {'loaded p50':>11} {'p99':>8} "
        f"{'ratio p99':>10}",
    ]
    for label, key in (("radar fall event -> fall alert", "fall_event"), ("accel batch -> fall alert", "accel_fall")):
        lines.append(
            f"{label:<34} {_ms(r[f'baseline_{key}_p50_ms']):>11} {_ms(r[f'baseline_{key}_p99_ms']):>8} "
            f"{_ms(r[f'{key}_p50_ms']):>11} {_ms(r[f'{key}_p99_ms']):>8} {_x(r[f'ratio_{key}_p99_ms']):>10}"
        )
    lines += [
        "",
        f"samples per loaded phase: fall events {r['fall_event_n']} (lost {r['fall_event_lost']}), accel falls "
        f"{r['accel_fall_n']} (lost {r['accel_fall_lost']})",
        f"accelerometer detector: {r['samples_per_s_per_core']:,.0f} samples/s per core "
        f"(= {r['samples_per_s_per_core'] / 50:,.0f} wearables at 50 Hz)",
        "loaded fall event, where the time goes (p50 / p99): "
        + ", ".join(
            f"{k} {_ms(r['fall_event_parts_p50_ms'][k])} / {_ms(r['fall_event_parts_p99_ms'][k])}"
            for k in r["fall_event_parts_p50_ms"]
        ),
        f"target: fall event p99 <= 100 ms under load: {'met' if r['meets_target'] else 'NOT met'}",
    ]
    return "\n".join(lines)


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} ms"


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


__all__ = ["add_arguments", "main"]
