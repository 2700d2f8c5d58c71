"""Orchestration of ``eldercare demo`` (see common/demo_cli.py)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from common.db import connect, redact
from common.localservices import Mosquitto, Postgres, postgres_datadir, start_mosquitto, start_postgres
from common.migrate import migrate
from common.settings import Settings

log = logging.getLogger(__name__)
SMOKE_SCENARIO = Path(__file__).resolve().parents[1] / "simulator" / "scenarios" / "smoke.yaml"


def _say(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


@contextlib.contextmanager
def _services(settings: Settings) -> Iterator[Settings]:
    """Use the configured services when the user set them, else start our own in the state folder."""
    state = Path(settings.state_dir).resolve()
    started_pg: Postgres | None = None
    started_mq: Mosquitto | None = None
    updates: dict[str, object] = {}
    try:
        if "ELDERCARE_DATABASE_URL" in os.environ:
            _say(f"database: {redact(settings.database_url)} (from ELDERCARE_DATABASE_URL)")
        else:
            datadir = postgres_datadir(state / "pg")
            if datadir != state / "pg":
                _say(f"user postgres cannot reach {state}; keeping the demo database in {datadir.parent} instead")
            started_pg = start_postgres(datadir)
            updates["database_url"] = started_pg.url
            flavour = "with TimescaleDB" if started_pg.timescaledb else "without TimescaleDB (not installed)"
            _say(f"started PostgreSQL {flavour} on 127.0.0.1:{started_pg.port}, data in {started_pg.datadir}")
        if "ELDERCARE_MQTT_PORT" in os.environ or "ELDERCARE_MQTT_HOST" in os.environ:
            _say(f"broker: {settings.mqtt_host}:{settings.mqtt_port} (from ELDERCARE_MQTT_*)")
        else:
            started_mq = start_mosquitto(state / "mosquitto")
            updates.update(mqtt_host=started_mq.host, mqtt_port=started_mq.port)
            _say(f"started Mosquitto on 127.0.0.1:{started_mq.port}, data in {started_mq.workdir}")
        yield settings.model_copy(update=updates)
    finally:
        if started_mq is not None:
            started_mq.stop()
            _say("stopped Mosquitto")
        if started_pg is not None:
            started_pg.stop()
            _say("stopped PostgreSQL")


def _fleet_registry(args: argparse.Namespace, path: Path) -> None:
    from simulator.fleet import build_fleet
    from simulator.registry import write_registry

    fleet = build_fleet(args.seed, args.homes, args.facilities, args.beds)
    write_registry(fleet, path)


def _alert_count(url: str) -> int | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SELECT count(*) FROM alert").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else 0


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    from devices.registry import load_registry, read_registry
    from ingest.service import IngestService

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    state = Path(settings.state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    with _services(settings) as cfg:
        applied = migrate(cfg.database_url)
        _say(f"schema ready ({len(applied)} migration(s) applied now)")
        registry = state / "demo-registry.yaml"
        _fleet_registry(args, registry)
        with connect(cfg.database_url) as conn:
            counts = load_registry(conn, read_registry(registry))
        _say(f"registered {counts['sites']} sites, {counts['residents']} residents, {counts['devices']} devices")

        detector = None
        listeners = []
        if not args.no_detect:
            try:
                from alerts.worker import DetectionWorker
            except ImportError:
                _say("detection worker not available in this build: ingest only")
            else:
                detector = DetectionWorker(cfg)
                detector.start()
                listeners.append(detector.listener)
        service = IngestService(cfg.model_copy(update={"ingest_metrics_interval_s": 3600.0}), listeners=listeners)
        service.start()
        _say("ingest running (MQTT 5 shared subscription, ack after commit)")

        scenario = args.scenario or (str(SMOKE_SCENARIO) if SMOKE_SCENARIO.exists() else None)
        cmd = [sys.executable, "-m", "common.cli", "simulate", "--homes", str(args.homes),
               "--facilities", str(args.facilities), "--beds", str(args.beds), "--days", str(args.days),
               "--speed", str(args.speed), "--seed", str(args.seed), "--host", cfg.mqtt_host,
               "--port", str(cfg.mqtt_port), "--no-progress"]  # fmt: skip
        if cfg.topic_prefix:
            cmd += ["--prefix", cfg.topic_prefix]
        if scenario:
            cmd += ["--scenario", scenario]
        sim_log = state / "simulator.log"
        with sim_log.open("ab") as sim_out:
            sim = subprocess.Popen(
                cmd, stdout=sim_out, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1]
            )
        _say(f"simulator publishing {args.days} virtual day(s) at {args.speed:g}x (log: {sim_log}); Ctrl-C to stop")
        started = time.monotonic()
        last = (started, 0)
        try:
            while not stop.wait(args.interval):
                now = time.monotonic()
                st = service.stats
                rate = (st.received - last[1]) / max(now - last[0], 1e-9)
                last = (now, st.received)
                alerts = _alert_count(cfg.database_url)
                reasons = ", ".join(f"{k} {v}" for k, v in sorted(st.reasons.items()) if v) or "none"
                print(
                    f"[demo] {now - started:6.0f}s  {rate:8,.0f} msg/s  received {st.received:,}  stored {st.stored:,}"
                    f"  rejected {st.rejected:,} ({reasons})  backlog {service.backlog}"
                    + (f"  alerts {alerts}" if alerts is not None else ""),
                    flush=True,
                )
                if args.duration is not None and now - started >= args.duration:
                    break
                if sim.poll() is not None and service.backlog == 0:
                    _say(f"simulator finished (exit {sim.returncode})")
                    break
        finally:
            if sim.poll() is None:
                sim.terminate()
                try:
                    sim.wait(15)
                except subprocess.TimeoutExpired:
                    sim.kill()
            service.stop()
            if detector is not None:
                detector.stop()
        st = service.stats
        _say(f"done: received {st.received:,}, stored {st.stored:,}, rejected {st.rejected:,}, acked {st.acked:,}")
        with psycopg.connect(cfg.database_url) as conn:
            rows = conn.execute("SELECT count(*) FROM telemetry").fetchone()
            _say(f"telemetry rows in the database: {rows[0] if rows else 0:,}")
            try:
                latest = conn.execute(
                    "SELECT ts, type, severity, site_id, explanation_zh, explanation_en FROM alert "
                    "ORDER BY raised_at DESC LIMIT 8"
                ).fetchall()
            except psycopg.errors.UndefinedTable:
                latest = []
        if latest:
            _say("latest alerts (eldercare alerts list shows all):")
            for ts, type_, severity, site, zh, en in latest:
                print(f"  {ts:%Y-%m-%d %H:%M} {severity:<8} {type_:<16} {site}\n      {zh}\n      {en}", flush=True)
        ok = st.stored > 0
    return 0 if ok else 1
