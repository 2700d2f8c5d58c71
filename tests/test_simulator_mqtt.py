"""Publishing over a real (private) Mosquitto, device credentials, and replay of recorded streams."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from common.localservices import start_mosquitto
from devices.errors import PayloadError
from devices.payloads import DEVICE_KINDS, decode
from devices.topics import DeviceTopic, device_filter
from simulator.clock import DAY_MS, parse_start
from simulator.context import SimContext, SimOptions
from simulator.engine import run
from simulator.fleet import build_fleet
from simulator.output import JsonlSink, ListSink
from simulator.publish import BrokerConfig, MqttSink
from simulator.replay import read_format_a, read_jsonl

HOME_A = Path("/work/shared/data/activity-ordonez/homeA.csv")
START = parse_start("2025-03-03")


class Collector:
    def __init__(self, host: str, port: int, topic: str, user: str | None = None, pw: str | None = None) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-collector", protocol=MQTTProtocolVersion.MQTTv5)
        if user:
            c.username_pw_set(user, pw)
        c.on_connect = lambda cl, *_a: cl.subscribe(topic, qos=1)
        c.on_subscribe = lambda *_a: self.ready.set()
        c.on_message = self._on_message
        c.connect(host, port)
        c.loop_start()
        assert self.ready.wait(10)
        self.client = c

    def _on_message(self, _c, _u, msg) -> None:
        with self.lock:
            self.got.append((msg.topic, msg.payload))

    def wait_for(self, n: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.got) < n:
            time.sleep(0.05)
        time.sleep(0.3)
        return len(self.got)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _small_run(prefix: str) -> tuple[list, object]:
    opts = SimOptions(offline_per_day=0.0)
    fleet = build_fleet(21, 4, 0, 0, opts)
    ctx = SimContext(21, prefix, START, START + DAY_MS // 4, opts)
    sink = ListSink()
    run(fleet, ctx, None, sink)
    return sink.messages, fleet


@pytest.mark.parametrize("qos,processes", [(1, 1), (0, 2)])
def test_publish_every_message_over_mqtt(tmp_path: Path, qos: int, processes: int) -> None:
    prefix = f"t{qos}{processes}"
    msgs, _fleet = _small_run(prefix)
    broker = start_mosquitto(tmp_path, persistence=False)
    try:
        col = Collector(broker.host, broker.port, device_filter(prefix))
        sink = MqttSink(BrokerConfig(broker.host, broker.port, qos=qos), connections=2, processes=processes)
        sink.write(msgs)
        assert sink.close() is True
        assert col.wait_for(len(msgs)) == len(msgs)
        col.stop()
        sent = sorted((m[3], m[4].encode()) for m in msgs)
        assert sorted(col.got) == sent
        for topic, payload in col.got[:500]:
            DeviceTopic.parse(topic, prefix)
            decode(payload)
    finally:
        broker.stop()


def test_device_auth_uses_registry_credentials_and_acl() -> None:
    # mosquitto drops root privileges: its files must live where user "mosquitto" can read them (not in
    # pytest's 0700 tmp tree), so this broker gets a directory of its own that start_mosquitto chowns.
    tmp_path = Path(tempfile.mkdtemp(prefix="sim-auth-"))
    prefix = "auth"
    msgs, fleet = _small_run(prefix)
    devices = fleet.devices()
    pwfile = tmp_path / "passwd"
    pwfile.write_text("".join(f"{d.id}:{d.password}\n" for d in devices) + "reader:readerpw\n")
    subprocess.run(["mosquitto_passwd", "-U", str(pwfile)], check=True)
    acl = tmp_path / "acl"
    acl.write_text(f"user reader\ntopic read {prefix}/#\n\npattern write {prefix}/eldercare/v1/dev/%u/+\n")
    broker = start_mosquitto(tmp_path, password_file=pwfile, acl_file=acl, persistence=False)
    try:
        col = Collector(broker.host, broker.port, device_filter(prefix), "reader", "readerpw")
        sink = MqttSink(
            BrokerConfig(broker.host, broker.port, qos=1),
            device_auth={d.id: d.password for d in devices},
            prefix=prefix,
        )
        sink.write(msgs)
        assert sink.close() is True
        assert col.wait_for(len(msgs)) == len(msgs)  # the ACL let every device publish under its own prefix only
        col.stop()
    finally:
        broker.stop()
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_replay_format_a_maps_sensors_to_valid_messages() -> None:
    fleet, msgs = read_format_a(HOME_A, start_ms=START)
    kinds = {d.id: d.kind for d in fleet.devices()}
    assert set(kinds.values()) == {"pir", "door_contact", "bed_sensor", "radar"}
    assert len(msgs) > 500
    for m in msgs:
        topic = DeviceTopic.parse(m[3])
        msg = decode(m[4])
        assert msg.kind in DEVICE_KINDS[kinds[topic.device_id]]
    assert START <= msgs[0][0] < START + DAY_MS
    assert [m[0] for m in msgs] == sorted(m[0] for m in msgs)


def test_replay_own_jsonl_round_trip_with_time_shift(tmp_path: Path) -> None:
    msgs, _fleet = _small_run("")
    out = tmp_path / "o.jsonl"
    sink = JsonlSink(out)
    sink.write(msgs)
    sink.close()
    back = list(read_jsonl(out))
    assert [(m[3], m[4]) for m in back] == [(m[3], m[4]) for m in msgs]
    shifted = list(read_jsonl(out, shift_ms=DAY_MS))
    for orig, new in zip(msgs[:200], shifted[:200], strict=True):
        assert new[0] == orig[0] + DAY_MS
        a, b = decode(orig[4]), decode(new[4])
        assert (b.ts - a.ts).total_seconds() == 86400
        assert json.loads(new[4])["id"] == json.loads(orig[4])["id"]


def test_invalid_payload_never_in_clean_run() -> None:
    msgs, fleet = _small_run("")
    kinds = {d.id: d.kind for d in fleet.devices()}
    for m in msgs:
        try:
            msg = decode(m[4])
        except PayloadError as exc:  # pragma: no cover - the assertion message is the point
            raise AssertionError(f"{m[3]}: {exc}") from None
        assert msg.kind in DEVICE_KINDS[kinds[DeviceTopic.parse(m[3]).device_id]]
