"""The vendor conformance checker judges a live device's traffic like ingest does (real broker)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.conformance import Report, check_live, judge, render


def test_judge_reports_reason_codes() -> None:
    r = Report("pir-9", "pir", 1)
    now = int(datetime.now(UTC).timestamp() * 1000)
    good = {"v": 1, "id": "1", "ts": now, "kind": "motion", "motion": True}
    judge(r, "eldercare/v1/dev/pir-9/telemetry", json.dumps(good).encode(), False)
    judge(r, "eldercare/v1/dev/pir-9/telemetry", json.dumps(good).encode(), False)  # same id again
    judge(r, "eldercare/v1/dev/pir-9/event", json.dumps(dict(good, id="2")).encode(), False)
    judge(r, "eldercare/v1/dev/pir-9/telemetry", b"{oops", False)
    judge(r, "eldercare/v1/dev/pir-9/telemetry", json.dumps(dict(good, id="3", ts=now - 3_600_000)).encode(), False)
    assert r.accepted == {"motion": 2}
    assert r.refused == {"wrong_channel": 1, "malformed_json": 1, "clock": 1}
    assert r.duplicate_ids == 1 and not r.ok
    assert "FAIL" in render(r)


def test_live_device_passes(broker) -> None:
    dev = f"pir-{uuid.uuid4().hex[:6]}"
    result: list[Report] = []
    t = threading.Thread(target=lambda: result.append(check_live(broker.host, broker.port, dev, "pir", 3.0)))
    t.start()
    time.sleep(1.0)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=dev, protocol=mqtt.MQTTv5)
    c.connect(broker.host, broker.port)
    c.loop_start()
    now = int(datetime.now(UTC).timestamp() * 1000)
    birth = {"v": 1, "id": "b1", "ts": now, "kind": "status", "state": "online", "battery": 90}
    c.publish(f"eldercare/v1/dev/{dev}/status", json.dumps(birth), qos=1, retain=True).wait_for_publish(5)
    for i in range(5):
        body = {"v": 1, "id": f"m{i}", "ts": now + i, "kind": "motion", "motion": True}
        c.publish(f"eldercare/v1/dev/{dev}/telemetry", json.dumps(body), qos=1).wait_for_publish(5)
    t.join(10)
    c.disconnect()
    c.loop_stop()
    report = result[0]
    assert report.accepted == {"status": 1, "motion": 5}
    assert report.ok, render(report)
    assert report.saw_retained_status
