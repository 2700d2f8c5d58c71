"""``eldercare bench ingest``: what the ingest path sustains, against baselines measured in the same run.

(a) broker ceiling: QoS 1 delivery from the load generator through Mosquitto to a C subscriber
    (``mosquitto_sub``); the generator alone (no subscriber) is measured too, to show it is not the bottleneck;
(b) raw COPY rate into the telemetry hypertable (database ceiling for our row shape);
(c) the platform's sustained end-to-end ingest: publish -> validated -> committed -> PUBACK (ack after commit);
(d) a naive ingestor: paho auto-ack, one INSERT + COMMIT per message.
Then publish -> committed latency p50/p99 at a fixed rate (default 2,000 msg/s).

The load generator is Mosquitto's own C client (``mosquitto_pub -l``, QoS 1, several processes, one device each)
fed with pre-encoded payloads, so Python is not in the publishing path. Ratios, not absolute times, are the
portable result: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

from common.db import connect, drop_database, with_dbname
from common.localservices import Mosquitto, start_mosquitto
from common.migrate import migrate
from common.settings import Settings
from devices.registry import load_registry, parse_registry

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--messages", type=int, default=100_000, help="messages per throughput phase (default 100000)")
    p.add_argument("--naive-messages", type=int, default=10_000, help="messages for the naive baseline")
    p.add_argument("--devices", type=int, default=4, help="publishing devices = generator processes (default 4)")
    p.add_argument("--rate", type=int, default=2000, help="fixed rate of the latency phase, msg/s (default 2000)")
    p.add_argument("--latency-seconds", type=float, default=15.0, help="duration of the latency phase")
    p.add_argument(
        "--workers", type=int, default=2,
        help="ingest worker processes for the throughput phase (c), shared subscription (default 2: one per core)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _progress(msg: str) -> None:
    print(f"[bench ingest] {msg}", file=sys.stderr, flush=True)


def _payload(phase: str, n: int, ts_ms: int) -> str:
    return f'{{"v":1,"id":"{phase}{n}","ts":{ts_ms},"kind":"motion","motion":{"true" if n % 2 else "false"}}}'


class Generator:
    """Pre-encoded QoS 1 load from ``mosquitto_pub -l`` processes, one per device."""

    def __init__(self, broker: Mosquitto, prefix: str, devices: Sequence[str], workdir: Path) -> None:
        self.broker = broker
        self.prefix = prefix
        self.devices = list(devices)
        self.workdir = workdir
        self.binary = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"

    def topic(self, device: str) -> str:
        return f"{self.prefix}/eldercare/v1/dev/{device}/telemetry"

    def _cmd(self, topic: str) -> list[str]:
        return [self.binary, "-h", self.broker.host, "-p", str(self.broker.port), "-q", "1", "-M", "1000",
                "-l", "-t", topic, "-i", f"gen-{uuid.uuid4().hex[:8]}"]  # fmt: skip

    def files(self, phase: str, total: int) -> list[tuple[str, Path]]:
        per = total // len(self.devices)
        now_ms = int(time.time() * 1000)
        out = []
        for d, dev in enumerate(self.devices):
            path = self.workdir / f"{phase}-{dev}.txt"
            with path.open("w") as f:
                for i in range(per):
                    n = d * per + i
                    f.write(_payload(phase, n, now_ms) + "\n")
            out.append((dev, path))
        return out

    def blast(self, files: list[tuple[str, Path]], topic_override: str | None = None) -> float:
        """Publish every line as fast as the C clients go; return the wall time until all exited."""
        t0 = time.perf_counter()
        procs = []
        for dev, path in files:
            with path.open("rb") as fh:
                procs.append(
                    subprocess.Popen(self._cmd(topic_override or self.topic(dev)), stdin=fh, stdout=subprocess.DEVNULL)
                )
        for p in procs:
            p.wait()
        return time.perf_counter() - t0

    def paced(self, phase: str, rate: int, seconds: float) -> int:
        """Publish at a fixed total rate for ``seconds``; each payload's ts is its hand-over time (ms)."""
        procs = [
            subprocess.Popen(self._cmd(self.topic(dev)), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
            for dev in self.devices
        ]
        sent = 0
        tick = 0.01
        t0 = time.perf_counter()
        next_t = t0
        while time.perf_counter() - t0 < seconds:
            due = int((time.perf_counter() - t0) * rate) - sent
            for _ in range(max(due, 0)):
                p = procs[sent % len(procs)]
                assert p.stdin is not None
                p.stdin.write((_payload(phase, sent, int(time.time() * 1000)) + "\n").encode())
                p.stdin.flush()
                sent += 1
            next_t += tick
            time.sleep(max(0.0, next_t - time.perf_counter()))
        for p in procs:
            assert p.stdin is not None
            p.stdin.close()
        for p in procs:
            p.wait()
        return sent


def _registry(devices: Sequence[str]) -> str:
    lines = ["sites:", "  - {id: bench-site, kind: home, name: 基准测试}", "    devices:"]
    text = "sites:\n  - id: bench-site\n    kind: home\n    name: 基准测试\n    devices:\n"
    _ = lines
    return text + "".join(f"      - {{id: {d}, kind: pir}}\n" for d in devices)


def _broker_ceiling(gen: Generator, n: int) -> tuple[float, float]:
    """(delivered msg/s through the broker to a QoS 1 C subscriber, generator-only msg/s)."""
    files = gen.files("a", n)
    total = (n // len(gen.devices)) * len(gen.devices)
    # Generator alone: publish to topics nobody subscribes to.
    t_gen = gen.blast(files, topic_override=f"{gen.prefix}/nobody/listens")
    sub = subprocess.Popen(
        [shutil.which("mosquitto_sub") or "mosquitto_sub", "-h", gen.broker.host, "-p", str(gen.broker.port),
         "-q", "1", "-C", str(total), "-t", f"{gen.prefix}/eldercare/v1/dev/+/telemetry", "-i", "ceiling-sub"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)  # subscription in place
    t0 = time.perf_counter()
    gen.blast(files)
    sub.wait(300)
    delivered = total / (time.perf_counter() - t0)
    return delivered, total / t_gen


def _copy_rate(url: str, n: int) -> float:
    now_ms = int(time.time() * 1000)
    from datetime import UTC, datetime

    ts = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    rows = [(ts, f"copy-dev-{i % 50}", f"c{i}", "motion", ts, '{"motion": true}') for i in range(n)]
    with psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        for start in range(0, n, 2000):
            with conn.cursor().copy("COPY telemetry (ts, device_id, msg_id, kind, received_at, data) FROM STDIN") as cp:
                for r in rows[start : start + 2000]:
                    cp.write_row(r)
            conn.commit()
        elapsed = time.perf_counter() - t0
        conn.execute("DELETE FROM telemetry WHERE device_id LIKE 'copy-dev-%'")
        conn.commit()
    return n / elapsed


class _CommitWatch:
    def __init__(self) -> None:
        self.count = 0
        self.latencies_ms: list[float] = []
        self.record = False
        self.last_commit = 0.0
        self.lock = threading.Lock()

    def __call__(self, accepted: Sequence[Any], committed_at: float) -> None:
        with self.lock:
            self.count += len(accepted)
            self.last_commit = committed_at
            if self.record:
                self.latencies_ms.extend((committed_at - a.ts.timestamp()) * 1000 for a in accepted)


def _wait_count(watch: _CommitWatch, target: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while watch.count < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {watch.count}/{target} committed after {timeout:.0f}s")
        time.sleep(0.01)


def _multi_worker_rate(bench_settings: Settings, gen: Generator, url: str, n: int, workers: int) -> float:
    """Phase (c) with several ``eldercare ingest`` processes; done when the database holds every message."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    env.update({f"ELDERCARE_{k.upper()}": str(v) for k, v in bench_settings.model_dump().items() if v is not None})
    # A share group of its own: the single worker of the previous phase left a persistent session in the default
    # group, and the broker keeps queueing that offline member's share for it (MQTT 5 section 4.8.2).
    env["ELDERCARE_INGEST_SHARE_GROUP"] = f"bench-{uuid.uuid4().hex[:6]}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "common.cli",
                "--log-level",
                "WARNING",
                "ingest",
                "--no-migrate",
                "--no-detect",
                "--client-id",
                f"{bench_settings.ingest_client_id}-w{i}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for i in range(workers)
    ]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while (conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'eldercare-ingest' "
                                "AND datname = current_database()")
                   .fetchone() or (0,))[0] < workers:  # fmt: skip
                if time.monotonic() > deadline:
                    raise TimeoutError("ingest workers did not connect to the database")
                time.sleep(0.1)
            time.sleep(1.0)  # MQTT sessions subscribed
            files = gen.files("w", n)
            total = (n // len(gen.devices)) * len(gen.devices)
            t0 = time.perf_counter()
            gen.blast(files)
            deadline = time.monotonic() + 600
            while True:
                row = conn.execute("SELECT count(*) FROM telemetry WHERE msg_id LIKE 'w%'").fetchone()
                if row and row[0] >= total:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {row[0] if row else 0}/{total} stored")
                time.sleep(0.2)
            return total / (time.perf_counter() - t0)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)


def _naive_rate(settings: Settings, gen: Generator, url: str, n: int) -> float:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    conn = psycopg.connect(url)
    done = threading.Event()
    count = [0]
    total = (n // len(gen.devices)) * len(gen.devices)

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        dev = msg.topic.split("/")[-2]
        conn.execute(
            "INSERT INTO telemetry (ts, device_id, msg_id, kind, received_at, data) "
            "VALUES (to_timestamp(%s / 1000.0), %s, %s, %s, now(), %s) ON CONFLICT DO NOTHING",
            (body["ts"], dev, body["id"], body["kind"], json.dumps({"motion": body["motion"]})),
        )
        conn.commit()
        count[0] += 1
        if count[0] >= total:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"naive-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect(settings.mqtt_host, settings.mqtt_port)
    client.subscribe(f"{gen.prefix}/eldercare/v1/dev/+/telemetry", qos=1)
    client.loop_start()
    time.sleep(0.5)
    files = gen.files("d", n)
    t0 = time.perf_counter()
    gen.blast(files)
    done.wait(600)
    elapsed = time.perf_counter() - t0
    client.loop_stop()
    client.disconnect()
    conn.close()
    return total / elapsed


def run_benchmark(args: argparse.Namespace, settings: Settings) -> dict[str, object]:
    from ingest.service import IngestService

    workdir = Path(tempfile.mkdtemp(prefix="eldercare-bench-"))
    broker = start_mosquitto(workdir / "broker")
    url = with_dbname(settings.database_url, f"eldercare_bench_{uuid.uuid4().hex[:8]}")
    prefix = f"bench/{uuid.uuid4().hex[:6]}"
    devices = [f"bench-pir-{i}" for i in range(args.devices)]
    result: dict[str, object] = {}
    try:
        _progress(f"database {url.rsplit('/', 1)[-1]}, broker 127.0.0.1:{broker.port}")
        migrate(url)
        with connect(url) as conn:
            load_registry(conn, parse_registry(_registry(devices)))
        gen = Generator(broker, prefix, devices, workdir)

        _progress(f"(a) broker QoS 1 ceiling with {args.messages} messages")
        broker_rate, gen_rate = _broker_ceiling(gen, args.messages)
        _progress(f"    broker {broker_rate:,.0f} msg/s; generator alone {gen_rate:,.0f} msg/s")

        _progress(f"(b) raw COPY into telemetry, {args.messages} rows")
        copy_rate = _copy_rate(url, args.messages)
        _progress(f"    {copy_rate:,.0f} rows/s")

        bench_settings = settings.model_copy(
            update={"database_url": url, "mqtt_host": broker.host, "mqtt_port": broker.port, "topic_prefix": prefix,
                    "ingest_client_id": f"bench-ingest-{uuid.uuid4().hex[:6]}", "ingest_metrics_interval_s": 3600.0}
        )  # fmt: skip
        watch = _CommitWatch()
        service = IngestService(bench_settings, commit_listeners=[watch])
        service.start()
        try:
            _progress(f"(c) platform end-to-end, {args.messages} messages, ack after commit, 1 worker")
            files = gen.files("c", args.messages)
            total = (args.messages // len(devices)) * len(devices)
            t0 = time.time()
            gen.blast(files)
            _wait_count(watch, total, 600)
            e2e_one = total / (watch.last_commit - t0)
            _progress(f"    {e2e_one:,.0f} msg/s")

            _progress(f"latency at {args.rate} msg/s for {args.latency_seconds:.0f} s")
            base = watch.count
            watch.record = True
            sent = gen.paced("l", args.rate, args.latency_seconds)
            _wait_count(watch, base + sent, 120)
            lat = sorted(watch.latencies_ms)
            p50 = statistics.median(lat)
            p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
            achieved = sent / args.latency_seconds
            _progress(f"    p50 {p50:.1f} ms, p99 {p99:.1f} ms ({achieved:,.0f} msg/s achieved)")
        finally:
            service.stop()
        stored = service.stats.stored
        rejected = service.stats.rejected
        e2e_rate = e2e_one
        if args.workers > 1:
            _progress(f"(c) platform end-to-end, {args.messages} messages, {args.workers} worker processes")
            e2e_rate = max(e2e_one, _multi_worker_rate(bench_settings, gen, url, args.messages, args.workers))
            _progress(f"    {e2e_rate:,.0f} msg/s")

        _progress(f"(d) naive one-INSERT-per-message baseline, {args.naive_messages} messages")
        naive_rate = _naive_rate(bench_settings, gen, url, args.naive_messages)
        _progress(f"    {naive_rate:,.0f} msg/s")

        result = {
            "broker_msgs_per_s": round(broker_rate),
            "generator_msgs_per_s": round(gen_rate),
            "copy_rows_per_s": round(copy_rate),
            "e2e_msgs_per_s": round(e2e_rate),
            "e2e_one_worker_msgs_per_s": round(e2e_one),
            "e2e_workers": args.workers,
            "naive_msgs_per_s": round(naive_rate),
            "e2e_p50_ms": round(p50, 2),
            "e2e_p99_ms": round(p99, 2),
            "latency_rate_msgs_per_s": round(achieved),
            "ratio_e2e_to_broker": round(e2e_rate / broker_rate, 3),
            "ratio_e2e_to_copy": round(e2e_rate / copy_rate, 3),
            "ratio_e2e_to_naive": round(e2e_rate / naive_rate, 2),
            "messages": args.messages,
            "devices": args.devices,
            "stored": stored,
            "rejected": rejected,
        }
    finally:
        broker.stop()
        try:
            drop_database(url)
        except Exception as exc:  # the result matters more than the cleanup
            log.warning("could not drop %s: %s", url, exc)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def main(args: argparse.Namespace, settings: Settings) -> int:
    result = run_benchmark(args, settings)
    if args.json:
        print(json.dumps(result))
        return 0
    rows = [
        ("(a) broker QoS 1 ceiling (C pub -> mosquitto -> C sub)", f"{result['broker_msgs_per_s']:,} msg/s"),
        ("    load generator alone (no subscriber)", f"{result['generator_msgs_per_s']:,} msg/s"),
        ("(b) raw COPY into telemetry", f"{result['copy_rows_per_s']:,} rows/s"),
        (f"(c) platform end-to-end, ack after commit ({result['e2e_workers']} workers)",
         f"{result['e2e_msgs_per_s']:,} msg/s"),
        ("    one worker process", f"{result['e2e_one_worker_msgs_per_s']:,} msg/s"),
        ("(d) naive: one INSERT+COMMIT per message", f"{result['naive_msgs_per_s']:,} msg/s"),
        (f"latency publish->committed @ {result['latency_rate_msgs_per_s']:,} msg/s",
         f"p50 {result['e2e_p50_ms']} ms, p99 {result['e2e_p99_ms']} ms"),
        ("c/a", f"{result['ratio_e2e_to_broker']}"),
        ("c/b", f"{result['ratio_e2e_to_copy']}"),
        ("c/d", f"{result['ratio_e2e_to_naive']}x"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0
