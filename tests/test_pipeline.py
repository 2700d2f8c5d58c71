"""The decode/validate pipeline, pure: no broker, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from devices.examples import EXAMPLES, SENDER
from ingest.pipeline import REASONS, Accepted, DeviceInfo, Ignored, Limits, Rejected, process
from tests.corpus import corpus

NOW = datetime(2026, 11, 28, 0, 0, 10, tzinfo=UTC)
LIMITS = Limits(256 * 1024, timedelta(minutes=5), timedelta(days=40))
DEVICES = {
    "pir-1": DeviceInfo("pir", "home-1"),
    "wear-1": DeviceInfo("wearable", "home-1", resident_id="r1"),
    "door-1": DeviceInfo("door_contact", "home-1"),
    "old-1": DeviceInfo("pir", "home-1", active=False),
}


def test_corpus_reasons_without_io() -> None:
    for item in corpus(NOW):
        out = process(item.topic, item.payload, NOW, DEVICES, LIMITS)
        assert isinstance(out, Rejected), item.name
        assert out.reason == item.reason, (item.name, out.detail)
        assert out.reason in REASONS


def test_every_example_is_accepted_from_a_device_of_its_kind() -> None:
    for kind, example in EXAMPLES.items():
        device_kind = SENDER[kind]
        devices = {"d-1": DeviceInfo(device_kind, "s")}
        body = dict(example, ts=int(NOW.timestamp() * 1000))
        channel = {"fall": "event", "sos": "event", "status": "status"}.get(kind, "telemetry")
        out = process(f"eldercare/v1/dev/d-1/{channel}", json.dumps(body).encode(), NOW, devices, LIMITS)
        assert isinstance(out, Accepted), (kind, out)
        assert out.kind == kind and out.device_id == "d-1" and out.ts == NOW.replace(microsecond=0)
        data = json.loads(out.data)
        assert not {"v", "id", "ts", "kind"} & set(data)  # the envelope lives in columns


def test_prefix_is_respected_and_cmd_is_ignored() -> None:
    body = json.dumps({"v": 1, "id": "1", "ts": int(NOW.timestamp() * 1000), "kind": "motion", "motion": True})
    limits = Limits(1024, timedelta(minutes=5), timedelta(days=1), topic_prefix="t/1")
    ok = process("t/1/eldercare/v1/dev/pir-1/telemetry", body.encode(), NOW, DEVICES, limits)
    assert isinstance(ok, Accepted)
    other = process("t/2/eldercare/v1/dev/pir-1/telemetry", body.encode(), NOW, DEVICES, limits)
    assert isinstance(other, Rejected) and other.reason == "unknown_topic"
    assert isinstance(process("t/1/eldercare/v1/dev/pir-1/cmd", b"{}", NOW, DEVICES, limits), Ignored)


def test_deactivated_device_is_unknown() -> None:
    body = json.dumps({"v": 1, "id": "1", "ts": int(NOW.timestamp() * 1000), "kind": "motion", "motion": True})
    out = process("eldercare/v1/dev/old-1/telemetry", body.encode(), NOW, DEVICES, LIMITS)
    assert isinstance(out, Rejected) and out.reason == "unknown_device" and "deactivated" in out.detail


def test_last_will_with_old_timestamp_is_accepted() -> None:
    old = NOW - timedelta(days=90)
    will = {"v": 1, "id": "will-3", "ts": int(old.timestamp() * 1000), "kind": "status", "state": "offline"}
    out = process("eldercare/v1/dev/pir-1/status", json.dumps(will).encode(), NOW, DEVICES, LIMITS)
    assert isinstance(out, Accepted) and out.table == "device_status"
    online = dict(will, state="online")
    stale = process("eldercare/v1/dev/pir-1/status", json.dumps(online).encode(), NOW, DEVICES, LIMITS)
    assert isinstance(stale, Rejected) and stale.reason == "stale_timestamp"


def test_out_of_order_and_slightly_future_timestamps_are_accepted() -> None:
    for delta in (timedelta(minutes=-30), timedelta(seconds=-1), timedelta(minutes=4)):
        body = {"v": 1, "id": "x", "ts": int((NOW + delta).timestamp() * 1000), "kind": "motion", "motion": True}
        out = process("eldercare/v1/dev/pir-1/telemetry", json.dumps(body).encode(), NOW, DEVICES, LIMITS)
        assert isinstance(out, Accepted), delta
