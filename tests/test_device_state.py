"""Online/offline tracking from birth messages and a real MQTT last will; last-seen from any traffic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from ingest.service import IngestService
from tests.helpers import load_small_registry, wait_for


def _state(url: str) -> tuple[object, ...] | None:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT online, battery, firmware, last_seen FROM device_state WHERE device_id = 'pir-1'"
        ).fetchone()


def test_birth_and_last_will(fresh_db: str, settings_for, broker, topic_prefix: str) -> None:
    load_small_registry(fresh_db)
    service = IngestService(settings_for(fresh_db))
    service.start()
    try:
        now = int(datetime.now(UTC).timestamp() * 1000)
        topic = f"{topic_prefix}/eldercare/v1/dev/pir-1/status"
        will = {"v": 1, "id": "will-1", "ts": now, "kind": "status", "state": "offline"}
        birth = {"v": 1, "id": "birth-1", "ts": now, "kind": "status", "state": "online", "battery": 81.5,
                 "signal": -60, "firmware": "1.2.3"}  # fmt: skip
        dev = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pir-1-{uuid.uuid4().hex[:4]}", protocol=mqtt.MQTTv5)
        dev.will_set(topic, json.dumps(will), qos=1, retain=True)
        dev.connect(broker.host, broker.port, keepalive=5)
        dev.loop_start()
        dev.publish(topic, json.dumps(birth), qos=1, retain=True).wait_for_publish(5)
        motion = {"v": 1, "id": "m-1", "ts": now, "kind": "motion", "motion": True}
        dev.publish(f"{topic_prefix}/eldercare/v1/dev/pir-1/telemetry", json.dumps(motion), qos=1).wait_for_publish(5)
        wait_for(lambda: (_state(fresh_db) or (None,))[0] is True, 15, what="online")
        # Die without DISCONNECT: the broker publishes the will.
        dev._sock.close()
        dev.loop_stop()
        wait_for(lambda: (_state(fresh_db) or (None,))[0] is False, 30, what="offline by last will")
        online, battery, firmware, _ = _state(fresh_db)  # type: ignore[misc]
        assert (online, battery, firmware) == (False, 81.5, "1.2.3")  # will carries no battery: last known kept
        # last_seen is flushed periodically by the decoder; a clean stop flushes it too.
    finally:
        service.stop()
    assert _state(fresh_db)[3] is not None  # type: ignore[index]
