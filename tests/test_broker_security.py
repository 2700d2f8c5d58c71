"""Secure by default: devices authenticate with their own credentials and may publish only their own topics
(real Mosquitto with the password and ACL files that `eldercare provision broker` generates)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from common.cli import main as cli_main
from common.localservices import start_mosquitto
from devices.registry import load_registry, parse_registry
from ingest.service import IngestService
from tests.helpers import SMALL_REGISTRY, scalar, wait_for


def _client(port: int, user: str | None, password: str | None) -> tuple[mqtt.Client, list[object]]:
    result: list[object] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    if user:
        c.username_pw_set(user, password)
    c.on_connect = lambda _c, _u, _f, reason, _p: result.append(reason)
    c.connect("127.0.0.1", port)
    c.loop_start()
    wait_for(lambda: result, 10, what="CONNACK")
    return c, result


def test_device_credentials_and_acl(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = SMALL_REGISTRY.replace("{id: pir-1, kind: pir,", "{id: pir-1, kind: pir, password: pir-secret,")
    text = text.replace("{id: door-1, kind: door_contact,", "{id: door-1, kind: door_contact, password: door-secret,")
    with psycopg.connect(fresh_db) as conn:
        load_registry(conn, parse_registry(text))
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", fresh_db)
    out = tmp_path / "broker"
    assert cli_main(["provision", "broker", str(out), "--service-user", "ingest:ingest-secret"]) == 0
    assert "pir-secret" not in (out / "passwd").read_text()
    broker = start_mosquitto(tmp_path / "mq", password_file=out / "passwd", acl_file=out / "acl")
    from common.settings import Settings

    settings = Settings(
        database_url=fresh_db, mqtt_port=broker.port, mqtt_username="ingest", mqtt_password="ingest-secret",
        ingest_client_id=f"ingest-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    service = IngestService(settings)
    service.start()
    try:
        # Anonymous and wrong passwords are refused.
        _, anon = _client(broker.port, None, None)
        assert anon[0].is_failure  # type: ignore[attr-defined]
        _, wrong = _client(broker.port, "pir-1", "nope")
        assert wrong[0].is_failure  # type: ignore[attr-defined]

        pir, ok = _client(broker.port, "pir-1", "pir-secret")
        assert not ok[0].is_failure  # type: ignore[attr-defined]
        now = int(datetime.now(UTC).timestamp() * 1000)
        own = {"v": 1, "id": "own-1", "ts": now, "kind": "motion", "motion": True}
        spoof = {"v": 1, "id": "spoof-1", "ts": now, "kind": "door", "open": True}
        pir.publish("eldercare/v1/dev/pir-1/telemetry", json.dumps(own), qos=1).wait_for_publish(5)
        # Publishing as another device is not delivered: the broker's ACL drops it (MQTT 5 PUBACK 0x87).
        pir.publish("eldercare/v1/dev/door-1/telemetry", json.dumps(spoof), qos=1).wait_for_publish(5)
        wait_for(lambda: scalar(fresh_db, "SELECT count(*) FROM telemetry WHERE msg_id = 'own-1'") == 1, 15)
        time.sleep(1.0)
        assert scalar(fresh_db, "SELECT count(*) FROM telemetry WHERE msg_id = 'spoof-1'") == 0
        assert scalar(fresh_db, "SELECT count(*) FROM rejects WHERE msg_id = 'spoof-1'") == 0
        pir.disconnect()
        pir.loop_stop()
    finally:
        service.stop()
        broker.stop()
