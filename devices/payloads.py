"""Payload models of the vendor contract: one strict pydantic model per message kind.

Every message is a JSON object with ``v`` (contract version, 1), ``id`` (unique per device: the natural key of
idempotent storage together with the device id), ``ts`` (RFC 3339 with offset, or epoch milliseconds) and
``kind``; the rest depends on the kind. The same models generate the JSON Schemas vendors read
(:mod:`devices.export`), so the contract and its validation can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from devices.errors import PayloadError
from devices.topics import DEVICE_ID_PATTERN, Channel

CONTRACT_VERSION = 1
MSG_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
# Epoch milliseconds must be plausible dates (2000-01-01 .. 2100-01-01): a seconds value sent by mistake
# would otherwise land in 1970 and look like valid-but-stale data.
_MIN_EPOCH_MS = 946_684_800_000
_MAX_EPOCH_MS = 4_102_444_800_000


def _parse_ts(value: Any) -> Any:
    """Accept RFC 3339 strings with an offset, or integer epoch milliseconds; always return aware UTC."""
    if isinstance(value, bool):
        raise ValueError("timestamp must be an RFC 3339 string or epoch milliseconds, not a boolean")
    if isinstance(value, int):
        if not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
            raise ValueError("epoch milliseconds out of range 2000-01-01..2100-01-01 (seconds sent by mistake?)")
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        if len(value) > 40:
            raise ValueError("timestamp string too long")
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("timestamp is not RFC 3339") from None
        if "T" not in text.upper() or parsed.tzinfo is None:
            raise ValueError("RFC 3339 timestamp needs a date, a time and an offset (e.g. Z or +08:00)")
        return parsed.astimezone(UTC)
    raise ValueError("timestamp must be an RFC 3339 string or integer epoch milliseconds")


Timestamp = Annotated[
    datetime,
    BeforeValidator(_parse_ts),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string", "format": "date-time", "description": "RFC 3339 with offset"},
                {
                    "type": "integer",
                    "minimum": _MIN_EPOCH_MS,
                    "maximum": _MAX_EPOCH_MS,
                    "description": "Unix epoch milliseconds",
                },
            ]
        }
    ),
]
MsgId = Annotated[str, Field(pattern=MSG_ID_PATTERN, description="Unique per device (e.g. a counter)")]
DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]
Label = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class Message(BaseModel):
    """Envelope shared by every kind."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    v: Literal[1] = Field(description="Contract version")
    id: MsgId
    ts: Timestamp
    device: DeviceId | None = Field(
        default=None, description="Optional; when present it must equal the device id of the topic"
    )


# --- telemetry ----------------------------------------------------------------------------------------------


class BedTelemetry(Message):
    """Bed pressure / vital-sign pad (nursing beds, family eldercare beds)."""

    kind: Literal["bed"]
    occupied: bool
    movement: Annotated[float, Field(ge=0, le=100)] | None = Field(
        default=None, description="Body-movement index 0-100 over the reporting interval"
    )
    heart_rate: Annotated[float, Field(ge=20, le=250)] | None = Field(default=None, description="beats/min")
    respiration_rate: Annotated[float, Field(ge=2, le=80)] | None = Field(default=None, description="breaths/min")


class MotionTelemetry(Message):
    """Passive-infrared motion sensor: one message per trigger (and optionally a clear)."""

    kind: Literal["motion"]
    motion: bool


class DoorTelemetry(Message):
    """Door contact (front door, bathroom, fridge...)."""

    kind: Literal["door"]
    open: bool


class PresenceTelemetry(Message):
    """mmWave presence/posture radar."""

    kind: Literal["presence"]
    present: bool
    posture: Literal["standing", "sitting", "lying", "unknown"] | None = None
    on_floor: bool = Field(default=False, description="The radar sees a person lying on the floor")
    targets: Annotated[int, Field(ge=0, le=16)] | None = None


Sample = tuple[
    Annotated[float, Field(ge=-64, le=64)],
    Annotated[float, Field(ge=-64, le=64)],
    Annotated[float, Field(ge=-64, le=64)],
]


class AccelTelemetry(Message):
    """A batch of wearable accelerometer samples; ``ts`` is the time of the first sample.

    Send ~1 s batches. A device that streams only around events should keep streaming at least 4 s after a
    suspected impact (the fall decision looks 1.5-3.5 s after it); when a stream stops earlier, the platform
    decides about 6 s after the last batch with the data there is: at least 2 s after a hard impact, 2.5 s
    after a soft one, or the impact cannot be judged.
    """

    kind: Literal["accel"]
    rate_hz: Annotated[float, Field(ge=1, le=2000)]
    unit: Literal["g"]
    samples: Annotated[list[Sample], Field(min_length=1, max_length=4000)]
    offsets_ms: Annotated[list[Annotated[float, Field(ge=0, le=600_000)]], Field(max_length=4000)] | None = Field(
        default=None, description="Optional per-sample offsets from ts (ms), non-decreasing, for irregular rates"
    )

    @model_validator(mode="after")
    def _offsets_match(self) -> AccelTelemetry:
        if self.offsets_ms is not None:
            if len(self.offsets_ms) != len(self.samples):
                raise ValueError("offsets_ms must have one entry per sample")
            if any(b < a for a, b in zip(self.offsets_ms, self.offsets_ms[1:], strict=False)):
                raise ValueError("offsets_ms must be non-decreasing")
        return self


class BleTelemetry(Message):
    """A BLE tag seen by a zone gateway (the gateway is the publishing device)."""

    kind: Literal["ble"]
    tag: Label
    zone: Label
    rssi: Annotated[int, Field(ge=-127, le=20)]


# --- events -------------------------------------------------------------------------------------------------


class FallEvent(Message):
    """A fall detected by the device itself (radar or wearable), with its own confidence."""

    kind: Literal["fall"]
    confidence: Annotated[float, Field(ge=0, le=1)]
    on_floor: bool | None = None


class SosEvent(Message):
    """The SOS / help button was pressed."""

    kind: Literal["sos"]
    long_press: bool = False


# --- status -------------------------------------------------------------------------------------------------


class StatusMessage(Message):
    """Device status: birth message (online), last will (offline), battery, signal, firmware. Retained."""

    kind: Literal["status"]
    state: Literal["online", "offline"]
    battery: Annotated[float, Field(ge=0, le=100)] | None = Field(default=None, description="percent")
    signal: Annotated[int, Field(ge=-150, le=0)] | None = Field(default=None, description="dBm")
    firmware: Annotated[str, Field(pattern=r"^[\x20-\x7e]{1,64}$")] | None = None


AnyMessage = Annotated[
    BedTelemetry
    | MotionTelemetry
    | DoorTelemetry
    | PresenceTelemetry
    | AccelTelemetry
    | BleTelemetry
    | FallEvent
    | SosEvent
    | StatusMessage,
    Field(discriminator="kind"),
]

MODELS: Mapping[str, type[Message]] = {
    "bed": BedTelemetry,
    "motion": MotionTelemetry,
    "door": DoorTelemetry,
    "presence": PresenceTelemetry,
    "accel": AccelTelemetry,
    "ble": BleTelemetry,
    "fall": FallEvent,
    "sos": SosEvent,
    "status": StatusMessage,
}

KIND_CHANNEL: Mapping[str, Channel] = {
    "bed": Channel.TELEMETRY,
    "motion": Channel.TELEMETRY,
    "door": Channel.TELEMETRY,
    "presence": Channel.TELEMETRY,
    "accel": Channel.TELEMETRY,
    "ble": Channel.TELEMETRY,
    "fall": Channel.EVENT,
    "sos": Channel.EVENT,
    "status": Channel.STATUS,
}

# Which message kinds each device kind may send. The registry binds device ids to these kinds.
DEVICE_KINDS: Mapping[str, frozenset[str]] = {
    "bed_sensor": frozenset({"bed", "status"}),
    "pir": frozenset({"motion", "status"}),
    "door_contact": frozenset({"door", "status"}),
    "radar": frozenset({"presence", "fall", "status"}),
    "wearable": frozenset({"accel", "fall", "sos", "status"}),
    "sos_button": frozenset({"sos", "status"}),
    "ble_gateway": frozenset({"ble", "status"}),
}

_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyMessage)


def decode(raw: bytes | str) -> Message:
    """Parse and validate one payload; raise :class:`PayloadError` with a reject reason code.

    Parsing happens in pydantic-core (Rust), which refuses NaN/Infinity, invalid UTF-8 and absurd nesting.
    """
    try:
        msg: Message = _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise _to_payload_error(exc) from None
    return msg


def _to_payload_error(exc: ValidationError) -> PayloadError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"type": "unknown", "loc": (), "msg": str(exc)}
    etype = first["type"]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    detail = f"{loc}: {first.get('msg', '')}" if loc else str(first.get("msg", ""))
    if len(errors) > 1:
        detail += f" (+{len(errors) - 1} more)"
    if etype == "json_invalid":
        return PayloadError("malformed_json", detail)
    if etype == "finite_number":
        # NaN/Infinity are not JSON (RFC 8259 section 6) even though many encoders emit them.
        return PayloadError("malformed_json", f"{detail} (NaN/Infinity are not valid JSON)")
    if etype in {"model_type", "model_attributes_type", "dict_type"} and not first.get("loc"):
        return PayloadError("not_object", "payload must be a JSON object")
    if etype in {"union_tag_not_found", "union_tag_invalid"}:
        return PayloadError("unknown_kind", detail)
    locs = first.get("loc", ())
    if len(locs) >= 2 and locs[1] == "v":
        return PayloadError("unsupported_version", detail)
    return PayloadError("schema_violation", detail)
