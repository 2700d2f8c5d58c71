"""Decode and validate one received MQTT message into a row to store or a reject (pure: no I/O).

Every input ends as exactly one :class:`Accepted` or :class:`Rejected`; this function never raises on bad
input, because a message that crashes the pipeline would be redelivered forever (a poison message).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.errors import PayloadError, TopicError
from devices.payloads import DEVICE_KINDS, KIND_CHANNEL, Message, decode
from devices.reasons import REASONS  # noqa: F401  (re-exported: the reject reason codes)
from devices.topics import Channel, DeviceTopic

TABLE_OF_CHANNEL = {Channel.TELEMETRY: "telemetry", Channel.EVENT: "events", Channel.STATUS: "device_status"}
_ENVELOPE: set[str] = {"v", "id", "ts", "device", "kind"}


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What ingest needs to know about a registered device."""

    kind: str
    site_id: str
    resident_id: str | None = None
    room_id: str | None = None
    bed_id: str | None = None
    zone_id: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int
    max_future: timedelta
    max_past: timedelta
    topic_prefix: str = ""


@dataclass(frozen=True, slots=True)
class Accepted:
    table: str
    ts: datetime
    device_id: str
    msg_id: str
    kind: str
    received_at: datetime
    data: str  # JSON of the kind-specific fields
    message: Message
    device: DeviceInfo
    topic: str
    raw: bytes

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.device_id, self.msg_id, self.ts)


@dataclass(frozen=True, slots=True)
class Rejected:
    topic: str
    payload: bytes
    received_at: datetime
    reason: str
    detail: str
    device_id: str | None = None
    msg_id: str | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """Platform-originated downstream traffic (``cmd``) seen on our wildcard subscription."""

    topic: str


Outcome = Accepted | Rejected | Ignored


_TOPIC_CACHE: dict[tuple[str, str], DeviceTopic | TopicError] = {}
_TOPIC_CACHE_MAX = 200_000  # distinct topics remembered (a district's devices x channels); cleared when full


def _parse_topic(topic: str, prefix: str) -> DeviceTopic:
    """Topic parsing with a cache: a fleet reuses the same few topics millions of times."""
    key = (topic, prefix)
    hit = _TOPIC_CACHE.get(key)
    if hit is None:
        try:
            hit = DeviceTopic.parse(topic, prefix)
        except TopicError as exc:
            hit = exc
        if len(_TOPIC_CACHE) >= _TOPIC_CACHE_MAX:
            _TOPIC_CACHE.clear()
        _TOPIC_CACHE[key] = hit
    if isinstance(hit, TopicError):
        raise hit
    return hit


def process(
    topic: str,
    payload: bytes,
    received_at: datetime,
    devices: Mapping[str, DeviceInfo],
    limits: Limits,
) -> Outcome:
    def reject(reason: str, detail: str, device_id: str | None = None, msg_id: str | None = None) -> Rejected:
        return Rejected(topic, payload, received_at, reason, detail[:1000], device_id, msg_id)

    try:
        parsed = _parse_topic(topic, limits.topic_prefix)
    except TopicError as exc:
        return reject("unknown_topic", str(exc))
    if parsed.channel is Channel.CMD:
        return Ignored(topic)
    device_id = parsed.device_id
    if len(payload) > limits.max_payload_bytes:
        return reject("oversize", f"{len(payload)} bytes > {limits.max_payload_bytes}", device_id)
    if not payload:
        return reject("malformed_json", "empty payload (a cleared retained message?)", device_id)
    try:
        msg = decode(payload)
    except PayloadError as exc:
        return reject(exc.reason, exc.detail, device_id)
    except (ValueError, RecursionError) as exc:  # defensive: the decoder must never take the worker down
        return reject("malformed_json", f"decoder error: {exc}", device_id)
    kind = msg.kind  # type: ignore[attr-defined]
    if msg.device is not None and msg.device != device_id:
        return reject("device_mismatch", f"payload says {msg.device!r}, topic says {device_id!r}", device_id, msg.id)
    if KIND_CHANNEL[kind] is not parsed.channel:
        return reject("wrong_channel", f"kind {kind!r} belongs on {KIND_CHANNEL[kind].value}", device_id, msg.id)
    info = devices.get(device_id)
    if info is None or not info.active:
        why = "not registered" if info is None else "deactivated"
        return reject("unknown_device", f"device {device_id!r} is {why}", device_id, msg.id)
    if kind not in DEVICE_KINDS.get(info.kind, ()):
        return reject("kind_not_allowed", f"a {info.kind} may not send {kind!r}", device_id, msg.id)
    if msg.ts - received_at > limits.max_future:
        return reject(
            "future_timestamp", f"ts {msg.ts.isoformat()} is ahead of receive time by {msg.ts - received_at}",
            device_id, msg.id,
        )  # fmt: skip
    # A last will is composed when the device connects (MQTT 3.1.2.5), so its ts may be old: exempt.
    is_will = kind == "status" and getattr(msg, "state", None) == "offline"
    if received_at - msg.ts > limits.max_past and not is_will:
        return reject("stale_timestamp", f"ts {msg.ts.isoformat()} is older than {limits.max_past}", device_id, msg.id)
    data = msg.model_dump_json(exclude=_ENVELOPE)
    return Accepted(
        TABLE_OF_CHANNEL[parsed.channel], msg.ts, device_id, msg.id, kind, received_at, data, msg, info, topic, payload
    )
