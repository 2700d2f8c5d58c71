"""A corpus of bad device input, each with the reject reason code the platform must give it.

Topics are relative to the per-test topic prefix; ``{dev}`` is a registered PIR, ``{wear}`` a wearable.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class BadInput:
    name: str
    topic: str  # relative: eldercare/v1/dev/...
    payload: bytes
    reason: str


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def corpus(now: datetime | None = None, dev: str = "pir-1", wear: str = "wear-1") -> list[BadInput]:
    now = now or datetime.now(UTC)
    rng = random.Random(20261128)
    tel = f"eldercare/v1/dev/{dev}/telemetry"

    def motion(**over: object) -> bytes:
        body: dict[str, object] = {"v": 1, "id": f"bad-{rng.randrange(10**9)}", "ts": _ms(now), "kind": "motion"}
        body["motion"] = True
        body.update(over)
        return json.dumps(body).encode()

    status = {"v": 1, "id": "s1", "ts": _ms(now), "kind": "status", "state": "online"}
    accel = {"v": 1, "id": "a1", "ts": _ms(now), "kind": "accel", "rate_hz": 50, "unit": "g", "samples": [[0, 0, 1]]}
    items = [
        BadInput("random_bytes", tel, bytes(rng.randrange(256) for _ in range(200)), "malformed_json"),
        BadInput("empty_payload", tel, b"", "malformed_json"),
        BadInput("truncated_json", tel, motion()[:25], "malformed_json"),
        BadInput("deeply_nested_arrays", tel, b"[" * 100_000, "malformed_json"),
        BadInput("deeply_nested_objects", tel, b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "malformed_json"),
        BadInput("one_megabyte", tel, b'{"v":1,"pad":"' + b"x" * (1 << 20) + b'"}', "oversize"),
        BadInput(
            "nan",
            f"eldercare/v1/dev/{dev}/status",
            json.dumps(status).replace('"online"', '"online","battery":NaN').encode(),
            "malformed_json",
        ),
        BadInput(
            "infinity",
            f"eldercare/v1/dev/{dev}/status",
            json.dumps(status).replace('"online"', '"online","battery":Infinity').encode(),
            "malformed_json",
        ),
        BadInput(
            "minus_infinity",
            f"eldercare/v1/dev/{dev}/status",
            json.dumps(status).replace('"online"', '"online","battery":-Infinity').encode(),
            "malformed_json",
        ),
        BadInput(
            "number_overflow",
            f"eldercare/v1/dev/{dev}/status",
            json.dumps(status).replace('"online"', '"online","battery":1e400').encode(),
            "malformed_json",
        ),
        BadInput("invalid_utf8", tel, motion(id="ok").replace(b'"ok"', b'"\xff\xfe"'), "malformed_json"),
        BadInput("utf8_bom", tel, b"\xef\xbb\xbf" + motion(), "malformed_json"),
        BadInput("json_array", tel, b"[1, 2, 3]", "not_object"),
        BadInput("json_string", tel, b'"motion"', "not_object"),
        BadInput("json_null", tel, b"null", "not_object"),
        BadInput("json_number", tel, b"42", "not_object"),
        BadInput(
            "missing_kind",
            tel,
            json.dumps({"v": 1, "id": "k1", "ts": _ms(now), "motion": True}).encode(),
            "unknown_kind",
        ),
        BadInput("unknown_kind", tel, motion(kind="teleport"), "unknown_kind"),
        BadInput("wrong_version", tel, motion(v=2), "unsupported_version"),
        BadInput("version_as_string", tel, motion(v="1"), "unsupported_version"),
        BadInput("wrong_type_bool", tel, motion(motion="yes"), "schema_violation"),
        BadInput("wrong_type_number_for_bool", tel, motion(motion=1), "schema_violation"),
        BadInput("extra_field", tel, motion(temperature=21.5), "schema_violation"),
        BadInput(
            "missing_id",
            tel,
            json.dumps({"v": 1, "ts": _ms(now), "kind": "motion", "motion": True}).encode(),
            "schema_violation",
        ),
        BadInput("id_with_nul", tel, motion(id="a\u0000b"), "schema_violation"),
        BadInput("id_too_long", tel, motion(id="x" * 65), "schema_violation"),
        BadInput("ts_without_offset", tel, motion(ts=now.replace(tzinfo=None).isoformat()), "schema_violation"),
        BadInput("ts_garbage", tel, motion(ts="yesterday"), "schema_violation"),
        BadInput("ts_in_seconds", tel, motion(ts=int(now.timestamp())), "schema_violation"),
        BadInput(
            "battery_out_of_range",
            f"eldercare/v1/dev/{dev}/status",
            json.dumps({**status, "battery": 150}).encode(),
            "schema_violation",
        ),
        BadInput(
            "accel_empty_samples",
            f"eldercare/v1/dev/{wear}/telemetry",
            json.dumps({**accel, "samples": []}).encode(),
            "schema_violation",
        ),
        BadInput(
            "accel_sample_arity",
            f"eldercare/v1/dev/{wear}/telemetry",
            json.dumps({**accel, "samples": [[0, 1]]}).encode(),
            "schema_violation",
        ),
        BadInput("unknown_device", "eldercare/v1/dev/ghost-9/telemetry", motion(), "unknown_device"),
        BadInput("spoofed_device_id", tel, motion(device="door-1"), "device_mismatch"),
        BadInput("future_timestamp", tel, motion(ts=_ms(now + timedelta(days=1))), "future_timestamp"),
        BadInput("ancient_timestamp", tel, motion(ts=_ms(now - timedelta(days=90))), "stale_timestamp"),
        BadInput("wrong_channel", f"eldercare/v1/dev/{dev}/event", motion(), "wrong_channel"),
        BadInput("kind_not_allowed", tel, json.dumps(accel | {"id": "a2"}).encode(), "kind_not_allowed"),
        BadInput("topic_extra_level", f"eldercare/v1/dev/{dev}/telemetry/x", motion(), "unknown_topic"),
        BadInput("topic_unknown_channel", f"eldercare/v1/dev/{dev}/debug", motion(), "unknown_topic"),
        BadInput("topic_bad_device_id", "eldercare/v1/dev/-weird$/telemetry", motion(), "unknown_topic"),
    ]
    return items


def duplicate_pair(now: datetime, dev: str = "pir-1") -> tuple[str, bytes]:
    """A valid message: sent twice, the second copy must become a ``duplicate`` reject."""
    body = {"v": 1, "id": "dup-1", "ts": _ms(now), "kind": "motion", "motion": True}
    return f"eldercare/v1/dev/{dev}/telemetry", json.dumps(body).encode()
