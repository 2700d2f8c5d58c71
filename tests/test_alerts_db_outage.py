"""The database goes away: the detection worker keeps publishing alerts on MQTT and stores them once it is back
(a private PostgreSQL we can stop; a real broker)."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from alerts.convert import Reading
from alerts.worker import DetectionWorker
from common.localservices import Mosquitto, start_postgres
from common.migrate import migrate
from devices.payloads import FallEvent
from devices.topics import ROOT
from tests.helpers import load_small_registry, scalar, wait_for


def test_database_outage_does_not_stop_or_lose_alerts(broker: Mosquitto, settings_for: Any, topic_prefix: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="eldercare-pg-"))
    root.chmod(0o755)  # the server runs as user postgres
    pg = start_postgres(root / "data")
    got: list[dict[str, Any]] = []
    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"al-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    sub.on_message = lambda _c, _u, m: got.append(json.loads(m.payload))
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    sub.subscribe(f"{topic_prefix}/{ROOT}/alerts/#", qos=1)
    assert subscribed.wait(10)
    worker = None
    try:
        migrate(pg.url)
        load_small_registry(pg.url)
        worker = DetectionWorker(settings_for(pg.url, detect_tick_s=0.1, detect_db_retry_max_s=0.5))
        worker.start()
        pg.stop()  # the database disappears
        now = datetime.now(UTC)
        fall = FallEvent.model_validate({"v": 1, "id": "f1", "ts": now.isoformat(), "kind": "fall", "confidence": 0.9})
        t0 = time.monotonic()
        worker.listener([Reading("radar-1", "fall", now, fall)])
        alert = wait_for(lambda: [a for a in got if a["type"] == "fall"], 10, 0.01, "fall alert during the outage")[0]
        assert time.monotonic() - t0 < 2.0  # published at once, not after the database
        wait_for(lambda: worker.stats.store_retries > 0, 10, 0.05, "the store thread to notice the outage")
        pg = start_postgres(root / "data", port=pg.port)
        wait_for(
            lambda: scalar(pg.url, "SELECT count(*) FROM alert WHERE dedup_key = %s", (alert["alert_id"],)),
            30, 0.1, "alert row after the database came back",
        )  # fmt: skip
        assert scalar(pg.url, "SELECT count(*) FROM alert WHERE type = 'fall'") == 1
    finally:
        if worker is not None:
            worker.stop()
        sub.disconnect()
        sub.loop_stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
