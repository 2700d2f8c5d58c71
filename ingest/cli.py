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
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from common.migrate import migrate
    from ingest.service import IngestService

    if args.client_id:
        settings = settings.model_copy(update={"ingest_client_id": args.client_id})
    if not args.no_migrate:
        migrate(settings.database_url)
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
