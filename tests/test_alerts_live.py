"""Ingest + detection end to end over a real broker and a real database (no fakes).

A decoded message reaches the engine before its batch is committed, the alert goes out on MQTT (QoS 1) and
lands in the ``alert`` table; a worker restarted in the middle of a silence or a long lie still alerts on time.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from alerts.worker import DetectionWorker
from common.db import connect
from common.localservices import Mosquitto
from common.settings import Settings
from devices.registry import load_registry, parse_registry
from devices.topics import ROOT, Channel, DeviceTopic
from ingest.service import IngestService
from tests.helpers import scalar, wait_for

REGISTRY = """
sites:
  - id: home-l1
    kind: home
    name: 测试之家
    rooms:
      - {id: home-l1-bedroom, name: 卧室, kind: bedroom}
      - {id: home-l1-kitchen, name: 厨房, kind: kitchen}
    residents:
      - {id: r-l1, name: 李奶奶, birth_year: 1938, lives_alone: true, fall_risk: high}
    devices:
      - {id: radar-l1, kind: radar, room: home-l1-bedroom}
      - {id: pir-l1, kind: pir, room: home-l1-kitchen, safety_critical: true, heartbeat_s: 5}
"""


class AlertListener:
    def __init__(self, broker: Mosquitto, prefix: str) -> None:
        self.messages: list[tuple[str, dict[str, Any], float]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"al-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/{ROOT}/alerts/#", qos=1)
        assert self._ready.wait(10)

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, json.loads(msg.payload), time.time()))

    def of_type(self, typ: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for _, m, _ in self.messages if m["type"] == typ]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def live(fresh_db: str, settings_for: Any, broker: Mosquitto, topic_prefix: str) -> Iterator[dict[str, Any]]:
    with connect(fresh_db) as conn:
        load_registry(conn, parse_registry(REGISTRY))
    settings = settings_for(
        fresh_db,
        detect_tick_s=0.1,
        detect_long_lie_stages_s=[1.0, 4.0],
        detect_history_days=1.0,
        detect_recovery_grace_s=0.5,
    )
    listener = AlertListener(broker, topic_prefix)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    counter = iter(range(1, 10**6))

    def send(device: str, channel: Channel, kind: str, **fields: Any) -> datetime:
        now = datetime.now(UTC)
        body = {"v": 1, "id": f"m{next(counter)}", "ts": now.isoformat(), "kind": kind, **fields}
        pub.publish(str(DeviceTopic(device, channel, topic_prefix)), json.dumps(body), qos=1).wait_for_publish(5)
        return now

    yield {"settings": settings, "alerts": listener, "send": send, "db": fresh_db}
    listener.close()
    pub.disconnect()
    pub.loop_stop()


@contextlib.contextmanager
def platform(live: dict[str, Any]) -> Iterator[DetectionWorker]:
    """``eldercare ingest`` with detection on, in-process: worker first, then the ingest service.

    Returns once ingest's subscription is live (a probe status message was stored): SUBACK is not awaited by
    the service, and a message published before the broker has the subscription would never be delivered.
    """
    settings: Settings = live["settings"]
    worker = DetectionWorker(settings)
    worker.start()
    service = IngestService(settings, listeners=[worker.listener])
    service.start()
    try:
        query = "SELECT count(*) FROM device_status WHERE device_id = 'radar-l1'"
        before = scalar(live["db"], query)

        def probed() -> None:
            live["send"]("radar-l1", Channel.STATUS, "status", state="online")
            wait_for(lambda: scalar(live["db"], query) != before, timeout=1, what="probe stored")

        _retry(probed, 10)
        yield worker
    finally:
        service.stop()
        worker.stop()


def _retry(fn: Any, attempts: int) -> None:
    for i in range(attempts):
        try:
            fn()
            return
        except AssertionError:
            if i == attempts - 1:
                raise


def test_radar_fall_event_reaches_mqtt_and_the_alert_table(live: dict[str, Any]) -> None:
    with platform(live):
        t_pub = time.time()
        live["send"]("radar-l1", Channel.EVENT, "fall", confidence=0.93, on_floor=True)
        falls = wait_for(lambda: live["alerts"].of_type("fall"), timeout=10, what="fall alert on MQTT")
        latency = time.time() - t_pub
        a = falls[0]
        assert a["site_id"] == "home-l1" and a["resident_id"] == "r-l1" and a["severity"] == "critical"
        assert a["explanation_zh"] and a["explanation_en"] and a["evidence"]["reason"] == "high_confidence"
        assert latency < 2.0
        wait_for(
            lambda: scalar(live["db"], "SELECT count(*) FROM alert WHERE dedup_key = %s", (a["alert_id"],)),
            timeout=10, what="alert row",
        )  # fmt: skip
        row = scalar(live["db"], "SELECT type || '/' || severity || '/' || status FROM alert WHERE type = 'fall'")
        assert row == "fall/critical/open"
        # the fall opens a long-lie episode: stage 1 after 1 s on the floor (test stages: 1 s, 4 s)
        stage = wait_for(lambda: live["alerts"].of_type("long_lie"), timeout=10, what="long-lie stage 1")
        assert stage[0]["stage"] == 1
        # the person stands up: the episode ends and the long-lie row is resolved
        live["send"]("radar-l1", Channel.TELEMETRY, "presence", present=True, posture="standing", on_floor=False)
        wait_for(
            lambda: scalar(live["db"], "SELECT count(*) FROM alert WHERE type = 'long_lie' AND status = 'resolved'"),
            timeout=10, what="long lie resolved",
        )  # fmt: skip
        time.sleep(4.0)
        assert [s["stage"] for s in live["alerts"].of_type("long_lie")] == [1]  # no stage 2 after recovery


def test_restart_in_the_middle_of_a_silence_still_alerts_on_time(live: dict[str, Any]) -> None:
    """pir-l1 is safety-critical with a 5 s heartbeat; the platform restarts 2 s into its silence."""
    with platform(live):
        live["send"]("pir-l1", Channel.TELEMETRY, "motion", motion=True)
        received = wait_for(
            lambda: scalar(live["db"], "SELECT max(received_at) FROM telemetry WHERE device_id = 'pir-l1'"),
            timeout=10, what="motion stored",
        )  # fmt: skip
        assert isinstance(received, datetime)
        time.sleep(max(0.0, 2.0 - (datetime.now(UTC) - received).total_seconds()))
    # ... down for a moment (its routine state was snapshotted on the way out), then a fresh process rebuilds
    # its state from the database
    assert scalar(live["db"], "SELECT count(*) FROM detector_state WHERE site_id = 'home-l1'") == 1
    time.sleep(0.5)
    with platform(live):
        due = received + timedelta(seconds=5)

        def after_motion() -> list[dict[str, Any]]:
            alerts = live["alerts"].of_type("device_silent")
            return [a for a in alerts if datetime.fromisoformat(a["evidence"]["last_seen"]) >= received]

        silent = wait_for(after_motion, timeout=15, what="device_silent alert")
        a = silent[0]
        # An uninterrupted run raises it at last_seen + heartbeat (+ one tick): same event time, raised on time.
        assert datetime.fromisoformat(a["ts"]) == due.replace(microsecond=due.microsecond // 1000 * 1000)
        raised = datetime.fromisoformat(a["raised_at"])
        assert timedelta(0) <= raised - due < timedelta(seconds=1.0), raised - due
        assert a["device_id"] == "pir-l1" and "防护中断" in a["explanation_zh"]
        # the device comes back: the row is resolved
        live["send"]("pir-l1", Channel.TELEMETRY, "motion", motion=False)
        wait_for(
            lambda: scalar(live["db"], "SELECT status = 'resolved' FROM alert WHERE dedup_key = %s", (a["alert_id"],)),
            timeout=10, what="device_silent resolved",
        )  # fmt: skip


def test_restart_in_the_middle_of_a_long_lie_resumes_at_the_next_stage(live: dict[str, Any]) -> None:
    with platform(live):
        t_fall = live["send"]("radar-l1", Channel.EVENT, "fall", confidence=0.95, on_floor=True)
        wait_for(lambda: live["alerts"].of_type("long_lie"), timeout=10, what="stage 1")
        wait_for(lambda: scalar(live["db"], "SELECT count(*) FROM alert WHERE type = 'long_lie'"), timeout=10,
                 what="stage 1 stored")  # fmt: skip
    with platform(live):
        stages = wait_for(
            lambda: [a for a in live["alerts"].of_type("long_lie") if a["stage"] == 2], timeout=15, what="stage 2"
        )
        due = t_fall + timedelta(seconds=4)
        assert abs((datetime.fromisoformat(stages[0]["ts"]) - due).total_seconds()) < 0.01
        raised = datetime.fromisoformat(stages[0]["raised_at"])
        assert timedelta(0) <= raised - due < timedelta(seconds=1.0), raised - due
    assert [a["stage"] for a in live["alerts"].of_type("long_lie")] == [1, 2]  # stage 1 not repeated
    assert len(live["alerts"].of_type("fall")) == 1


def _kitchen_history(last: datetime, days: int = 4) -> list[tuple[datetime, bool]]:
    """PIR motion of a regular routine ending at ``last``: a bout (on, off) every ~12 min by day, quiet nights."""
    out: list[tuple[datetime, bool]] = []
    t = last - timedelta(days=days)
    step = 0
    while t <= last:
        local_hour = (t + timedelta(hours=8)).hour  # the registry's default zone is Asia/Shanghai
        if 7 <= local_hour < 22:
            out += [(t, True), (t + timedelta(seconds=20), False)]
        step += 1
        t += timedelta(minutes=12 + (step * 7) % 5)
    out = [(ts, on) for ts, on in out if ts < last] + [(last, True)]
    return out


def test_restart_in_the_middle_of_an_inactivity_silence_keeps_the_clock(live: dict[str, Any]) -> None:
    """The resident has been quiet for 40 min when the worker restarts: the new process rebuilds the routine
    from the database (snapshot + stored history) and the inactivity alert falls due exactly when it would have
    without the restart -- the silence clock is not reset by the restart."""
    from alerts.convert import Reading
    from alerts.engine import DetectionEngine, EngineConfig
    from alerts.store import AlertStore

    now = datetime.now(UTC)
    last = now - timedelta(minutes=40)
    history = _kitchen_history(last)
    with connect(live["db"]) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO telemetry (ts, device_id, msg_id, kind, received_at, data) VALUES (%s, %s, %s, %s, %s, %s)",
            [(ts, "pir-l1", f"h{i}", "motion", ts, json.dumps({"motion": on})) for i, (ts, on) in enumerate(history)],
        )
    settings = live["settings"].model_copy(update={"detect_history_days": 7.0})  # the default is 21 days
    config = EngineConfig(activity_tick=timedelta(seconds=settings.detect_activity_tick_s))

    # The uninterrupted reference: the same readings through the live path, then the clock alone.
    store = AlertStore(live["db"])
    registry = store.load_registry()
    store.close()
    ref = DetectionEngine(registry, config, now=history[0][0])
    for i, (ts, on) in enumerate(history):
        ref.process(Reading("pir-l1", "motion", ts, {"motion": on}))
        if i % 50 == 0:
            ref.tick(ts)

    def first_inactivity(engine: DetectionEngine, start: datetime) -> datetime:
        t = start
        while t < start + timedelta(days=2):
            for a in engine.tick(t):
                if a.type == "inactivity":
                    return a.ts
            t += config.activity_tick
        raise AssertionError("no inactivity alert within 2 days")

    expected = first_inactivity(ref, now)

    # Restart: one worker process up and down (it rebuilds from the database and saves its snapshot on the way
    # out), then a second one that restores the snapshot and replays what came after it.
    for _ in range(2):
        worker = DetectionWorker(settings, config)
        worker.start()
        time.sleep(0.5)
        worker.stop()
    assert scalar(live["db"], "SELECT count(*) FROM detector_state WHERE site_id = 'home-l1'") == 1
    engine = worker._engine
    assert engine is not None
    mon = engine.sites["home-l1"].monitors["home"]
    assert mon.last_human == (last + timedelta(hours=8)).replace(tzinfo=None)  # the silence began 40 min ago
    assert expected - now > timedelta(minutes=10)  # the alert is still ahead: the restart is mid-silence
    got = first_inactivity(engine, datetime.now(UTC))
    assert abs(got - expected) <= config.activity_tick, (got, expected)
