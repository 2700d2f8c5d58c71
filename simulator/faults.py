"""Device failures and message faults: what a real vendor fleet gets wrong, injected on purpose and labelled.

A device model passes every message through :meth:`FaultState.apply`, which knows the device's fault windows:

- ``silent``/``dead``/``offline``: nothing is published (``dead``: the battery ran out; ``offline``: a background
  radio outage); the broker publishes the last will (state offline) ~1.5 keep-alives later where the device had
  a session (dead, offline), a ``silent`` device just stops talking (hung firmware, its session stays up).
- ``clock_skew``: the payload timestamp is shifted by ``skew_s`` (the device clock drifts; delivery is on time).
- ``late_delivery``: messages are held and published ``delay_s`` later (store-and-forward after a backhaul cut).
- ``out_of_order``: a share of messages is delayed enough for later ones to overtake them.
- ``duplicates``: a share of messages is published twice (QoS 1 redelivery after a lost PUBACK: same id).
- ``malformed``: a share (or the first ``count``) of messages is broken in one of :data:`MALFORMED_VARIANTS`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

# variant -> the reject reason the platform should give (devices.payloads / ingest)
MALFORMED_VARIANTS = {
    "truncated_json": "malformed_json",
    "not_object": "not_object",
    "missing_field": "schema_violation",
    "wrong_version": "unsupported_version",
    "unknown_kind": "unknown_kind",
    "bad_timestamp": "schema_violation",
    "nan_value": "malformed_json",
    "invalid_utf8": "malformed_json",
    "kind_not_allowed": "kind_not_allowed",
    "future_timestamp": "future_timestamp",
}
# a kind each device kind may NOT send (for kind_not_allowed)
_FOREIGN_KIND = {
    "bed_sensor": '"kind":"door","open":true',
    "pir": '"kind":"door","open":true',
    "door_contact": '"kind":"motion","motion":true',
    "radar": '"kind":"sos","long_press":false',
    "wearable": '"kind":"bed","occupied":true',
    "sos_button": '"kind":"motion","motion":true',
    "ble_gateway": '"kind":"fall","confidence":0.9',
}
SUPPRESSING = frozenset({"silent", "dead", "offline"})


@dataclass
class FaultWindow:
    kind: str
    start: int
    end: int
    params: dict[str, Any] = field(default_factory=dict)
    used: int = 0  # messages affected so far (malformed count limits)


class FaultState:
    """The fault windows of one device and the transformation of its messages."""

    def __init__(self, r: random.Random) -> None:
        self.r = r
        self.windows: list[FaultWindow] = []

    def add(self, w: FaultWindow) -> None:
        self.windows.append(w)
        self.windows.sort(key=lambda x: (x.start, x.kind))

    def suppressed(self, ts: int) -> bool:
        return any(w.kind in SUPPRESSING and w.start <= ts < w.end for w in self.windows)

    def active(self, ts: int) -> list[FaultWindow]:
        return [w for w in self.windows if w.start <= ts < w.end and w.kind not in SUPPRESSING]


def malform(variant: str, device_kind: str, msg_id: str, ts_json: str, body: str, *, future_ts_json: str) -> bytes:
    """Build one malformed payload of the given variant (see :data:`MALFORMED_VARIANTS`)."""
    good = f'{{"v":1,"id":"{msg_id}","ts":{ts_json},{body}}}'
    if variant == "truncated_json":
        return good[: max(5, len(good) // 2)].encode()
    if variant == "not_object":
        return f'["{msg_id}",{ts_json}]'.encode()
    if variant == "missing_field":
        return f'{{"v":1,"id":"{msg_id}",{body}}}'.encode()
    if variant == "wrong_version":
        return f'{{"v":2,"id":"{msg_id}","ts":{ts_json},{body}}}'.encode()
    if variant == "unknown_kind":
        return f'{{"v":1,"id":"{msg_id}","ts":{ts_json},"kind":"temperature","celsius":21.5}}'.encode()
    if variant == "bad_timestamp":
        return f'{{"v":1,"id":"{msg_id}","ts":"yesterday 10:00",{body}}}'.encode()
    if variant == "nan_value":
        return f'{{"v":1,"id":"{msg_id}","ts":{ts_json},"kind":"status","state":"online","battery":NaN}}'.encode()
    if variant == "invalid_utf8":
        return good.encode()[:20] + b"\xff\xfe\xfa" + good.encode()[20:]
    if variant == "kind_not_allowed":
        return f'{{"v":1,"id":"{msg_id}","ts":{ts_json},{_FOREIGN_KIND[device_kind]}}}'.encode()
    if variant == "future_timestamp":
        return f'{{"v":1,"id":"{msg_id}","ts":{future_ts_json},{body}}}'.encode()
    raise ValueError(f"unknown malformed variant {variant!r}")
