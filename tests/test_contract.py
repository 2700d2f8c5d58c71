from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.errors import PayloadError, TopicError
from devices.examples import EXAMPLES, SENDER
from devices.export import asyncapi_document, export, json_schemas
from devices.payloads import DEVICE_KINDS, KIND_CHANNEL, MODELS, decode
from devices.topics import Channel, DeviceTopic, device_acl_patterns


def test_every_kind_has_an_example_that_validates() -> None:
    assert set(EXAMPLES) == set(MODELS)
    for kind, example in EXAMPLES.items():
        msg = decode(json.dumps(example).encode())
        assert msg.kind == kind  # type: ignore[attr-defined]
        assert msg.ts.tzinfo is not None
        assert kind in DEVICE_KINDS[SENDER[kind]]


def test_timestamps_rfc3339_and_epoch_ms_agree() -> None:
    base = {"v": 1, "id": "1", "kind": "motion", "motion": True}
    a = decode(json.dumps({**base, "ts": "2026-11-28T08:00:00+08:00"}).encode())
    b = decode(json.dumps({**base, "ts": 1795824000000}).encode())
    assert a.ts == b.ts == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"ts": "2026-11-28T08:00:00"}, "schema_violation"),  # no offset
        ({"ts": 1795824000}, "schema_violation"),  # seconds, not ms
        ({"ts": True}, "schema_violation"),
        ({"v": 2}, "unsupported_version"),
        ({"kind": "teleport"}, "unknown_kind"),
        ({"motion": "yes"}, "schema_violation"),
        ({"extra": 1}, "schema_violation"),
        ({"id": "has space"}, "schema_violation"),
        ({"id": 12}, "schema_violation"),
    ],
)
def test_bad_fields_have_reason_codes(patch: dict[str, object], reason: str) -> None:
    msg = {"v": 1, "id": "1", "ts": "2026-11-28T08:00:00Z", "kind": "motion", "motion": True, **patch}
    with pytest.raises(PayloadError) as err:
        decode(json.dumps(msg).encode())
    assert err.value.reason == reason


def test_accel_offsets_must_match_samples() -> None:
    msg = dict(EXAMPLES["accel"], offsets_ms=[0, 20])
    with pytest.raises(PayloadError):
        decode(json.dumps(msg).encode())
    ok = dict(EXAMPLES["accel"], offsets_ms=[0, 19.5, 41])
    assert decode(json.dumps(ok).encode()).offsets_ms == [0, 19.5, 41]  # type: ignore[attr-defined]


def test_topic_grammar_round_trip() -> None:
    t = DeviceTopic.parse("p/q/eldercare/v1/dev/pir-1/telemetry", "p/q")
    assert (t.device_id, t.channel, str(t)) == ("pir-1", Channel.TELEMETRY, "p/q/eldercare/v1/dev/pir-1/telemetry")
    for bad in (
        "eldercare/v1/dev/pir-1/telemetry/extra",
        "eldercare/v1/dev/pir-1/bogus",
        "eldercare/v2/dev/pir-1/telemetry",
        "eldercare/v1/dev//telemetry",
        "eldercare/v1/dev/-x/telemetry",
    ):
        with pytest.raises(TopicError):
            DeviceTopic.parse(bad)
    assert device_acl_patterns() == (
        "pattern write eldercare/v1/dev/%u/+",
        "pattern read eldercare/v1/dev/%u/cmd",
    )


def test_export_writes_schemas_and_asyncapi(tmp_path: Path) -> None:
    written = export(tmp_path)
    names = {p.name for p in written}
    assert names == {f"{k}.schema.json" for k in MODELS} | {"asyncapi.json"}
    doc = json.loads((tmp_path / "asyncapi.json").read_text())
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["components"]["messages"]) == set(MODELS)
    assert doc["channels"]["status"]["address"] == "eldercare/v1/dev/{deviceId}/status"
    schemas = json_schemas()
    assert schemas["bed"]["additionalProperties"] is False
    assert set(schemas["accel"]["required"]) >= {"v", "id", "ts", "kind", "rate_hz", "unit", "samples"}
    # Channel of every message in the AsyncAPI document matches the contract table.
    for channel, spec in asyncapi_document()["channels"].items():
        for kind in spec.get("messages", {}):
            assert KIND_CHANNEL[kind].value == channel
