"""``eldercare ingest``: run one ingest worker (start several for more throughput: shared subscription)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from common.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="run an ingest worker (MQTT -> TimescaleDB, ack after commit)",
        description="Subscribe (shared, persistent session, QoS 1) to every device topic, validate, store "
        "in batches, acknowledge after commit. Stops cleanly on SIGINT/SIGTERM after draining.",
    )
    p.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations at start")
    p.add_argument("--client-id", help="override ELDERCARE_INGEST_CLIENT_ID (one per worker)")
    p.add_argument(
        "--detect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the anomaly core (alerts) in this process on every decoded message [on]",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run N ingest worker processes (shared subscription); with N > 1 detection runs in one extra "
        "process (`eldercare detect`) that sees every message [1]",
    )
    p.set_defaults(func=run)

    d = sub.add_parser(
        "detect",
        help="run the anomaly core as its own process on its own (non-shared) MQTT subscription",
        description="Needed when several ingest workers split the stream: detection must see every message of "
        "a site. Alerts go to the database and to MQTT alert topics, as with `ingest --detect`.",
    )
    d.set_defaults(func=run_detect)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from common.migrate import migrate
    from ingest.service import IngestService

    if args.client_id:
        settings = settings.model_copy(update={"ingest_client_id": args.client_id})
    if not args.no_migrate:
        migrate(settings.database_url)
    if args.workers > 1:
        return _supervise(args, settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker = None
    if args.detect:
        from alerts.worker import DetectionWorker

        worker = DetectionWorker(settings)
        worker.start()
    service = IngestService(settings, listeners=[worker.listener] if worker else [])
    service.start()
    log.info("ingest running as %s; Ctrl-C to stop", settings.ingest_client_id)
    stop.wait()
    log.info("stopping: draining what was received")
    service.stop()
    if worker is not None:
        worker.stop()
    return 0


def _supervise(args: argparse.Namespace, settings: Settings) -> int:
    """N ingest processes with their own client ids in one share group, plus one detection process."""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    base = settings.ingest_client_id
    cmds = [
        [sys.executable, "-m", "common.cli", "ingest", "--no-migrate", "--no-detect", "--client-id", f"{base}-{i}"]
        for i in range(args.workers)
    ]
    if args.detect:
        cmds.append([sys.executable, "-m", "common.cli", "detect"])
    procs = [subprocess.Popen(c, env=env) for c in cmds]
    log.info("started %d ingest worker(s)%s", args.workers, " and a detection process" if args.detect else "")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            log.error("a worker exited (%s); stopping the others", [p.returncode for p in dead])
            break
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    rc = 0
    for p in procs:
        try:
            rc = rc or abs(p.wait(60))
        except subprocess.TimeoutExpired:
            p.kill()
            rc = 1
    return rc


def run_detect(_args: argparse.Namespace, settings: Settings) -> int:
    from common.detect_feed import DetectFeed
    from common.migrate import migrate

    migrate(settings.database_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    feed = DetectFeed(settings)
    feed.start()
    log.info("detection running on its own subscription; Ctrl-C to stop")
    stop.wait()
    feed.stop()
    log.info("detection stopped: %d messages seen, %d refused by validation", feed.accepted, feed.refused)
    return 0
