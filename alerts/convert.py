"""Contract messages -> detector inputs (pure): home-activity events in site-local time, accelerometer arrays.

Works on live decoded messages (pydantic models) and on rows read back from the ``telemetry`` table (a
``data`` dict) alike: fields are read with :func:`field`, so the start-up rebuild and the live path share one
conversion and therefore rebuild exactly the state the live path had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol

import numpy as np

from alerts.activity import ROOMS, HomeEvent

# Registry room kinds -> the activity model's rooms (alerts.activity.ROOMS).
_ROOM_MAP = {"corridor": "hall", "dining": "kitchen", "activity": "living"}


class Incoming(Protocol):
    """What the engine needs of a decoded message; :class:`ingest.pipeline.Accepted` satisfies it."""

    @property
    def device_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def ts(self) -> datetime: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def message(self) -> Any: ...


class Reading:
    """A decoded message without the transport around it (tests, history replay, benchmarks)."""

    __slots__ = ("device_id", "kind", "message", "received_at", "ts")

    def __init__(
        self, device_id: str, kind: str, ts: datetime, message: Any, received_at: datetime | None = None
    ) -> None:
        self.device_id = device_id
        self.kind = kind
        self.ts = ts
        self.message = message  # a devices.payloads model or a Mapping of the kind-specific fields
        self.received_at: datetime = received_at if received_at is not None else ts

    def __repr__(self) -> str:
        return f"Reading({self.device_id!r}, {self.kind!r}, {self.ts.isoformat()})"


def field(message: Any, name: str, default: Any = None) -> Any:
    """One kind-specific field of a pydantic model or of a stored ``data`` dict."""
    if isinstance(message, Mapping):
        return message.get(name, default)
    return getattr(message, name, default)


def activity_room(room_kind: str) -> str:
    kind = _ROOM_MAP.get(room_kind, room_kind)
    return kind if kind in ROOMS else "other"


def local_naive(ts: datetime, tz: tzinfo) -> datetime:
    """Site-local wall-clock time without tzinfo (the activity model's Format A convention)."""
    return ts.astimezone(tz).replace(tzinfo=None)


def aware(local: datetime, tz: tzinfo) -> datetime:
    """Inverse of :func:`local_naive` (ambiguous DST times resolve to the first occurrence)."""
    return local.replace(tzinfo=tz)


@dataclass
class ActivityConverter:
    """Per-site memory needed to turn level-reporting sensors into edges (bed occupied, radar presence)."""

    bed_state: dict[str, bool]
    radar_state: dict[str, tuple[bool, str | None]]

    def __init__(self) -> None:
        self.bed_state = {}
        self.radar_state = {}

    def event(self, device_id: str, kind: str, message: Any, *, local_ts: datetime, room_kind: str) -> HomeEvent | None:
        """The :class:`HomeEvent` a message means for routine detection, or None (no information).

        PIR motion -> ``motion``; door contact -> ``door`` (in an ``entrance`` room: the front door, going
        out; elsewhere an inner doorway); bed pad occupied *changes* -> ``bed``; radar presence *changes* (present and
        not on the floor; posture) -> ``motion``: radars report periodically, and a periodic "present" would
        look like a busy home to the routine model.
        """
        room = activity_room(room_kind)
        if kind == "motion":
            return HomeEvent(local_ts, device_id, "motion", room, 1 if field(message, "motion") else 0)
        if kind == "door":
            # the front door is an exit; an inner door (bathroom, bedroom) a doorway (HomeEvent.doorway decides)
            exit_door = room_kind == "entrance"
            return HomeEvent(local_ts, device_id, "door", room, 1 if field(message, "open") else 0, exit=exit_door)
        if kind == "bed":
            occ = bool(field(message, "occupied"))
            if self.bed_state.get(device_id) == occ:
                return None
            self.bed_state[device_id] = occ
            return HomeEvent(local_ts, device_id, "bed", room, 1 if occ else 0)
        if kind == "presence":
            up = bool(field(message, "present")) and not field(message, "on_floor", False)
            state = (up, field(message, "posture"))
            prev = self.radar_state.get(device_id)
            self.radar_state[device_id] = state
            if prev == state or (prev is None and not up):
                return None
            return HomeEvent(local_ts, device_id, "motion", room, 1 if up else 0)
        return None


def accel_arrays(message: Any, ts: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Sample times (s since the epoch) and accelerations (g, shape (n, 3)) of one accelerometer batch."""
    samples = np.asarray(field(message, "samples"), dtype=np.float64).reshape(-1, 3)
    t0 = ts.timestamp()
    offsets = field(message, "offsets_ms")
    if offsets is not None:
        t = t0 + np.asarray(offsets, dtype=np.float64) / 1000.0
    else:
        rate = float(field(message, "rate_hz"))
        t = t0 + np.arange(samples.shape[0], dtype=np.float64) / rate
    return t, samples


def activity_level(acc: np.ndarray) -> float:
    """Standard deviation of |a| (g) over a batch: ~0.01-0.05 lying still, >= 0.15 walking."""
    if acc.shape[0] < 2:
        return 0.0
    return float(np.std(np.linalg.norm(acc, axis=1)))


def steady_gravity(acc: np.ndarray, max_deg: float) -> np.ndarray | None:
    """Unit gravity direction of a batch held in one posture, or None (too short, or a transition within it).

    The mean acceleration vector is the low-pass gravity estimate; the two halves of the batch must agree within
    ``max_deg``, so a batch containing a fall or a getting-up movement gives no posture.
    """
    n = acc.shape[0]
    if n < 4:
        return None
    halves = [acc[: n // 2].mean(axis=0), acc[n // 2 :].mean(axis=0)]
    norms = [float(np.linalg.norm(h)) for h in halves]
    if min(norms) < 0.5:  # not gravity-dominated (free fall, device thrown): no posture
        return None
    u0, u1 = halves[0] / norms[0], halves[1] / norms[1]
    if float(np.degrees(np.arccos(np.clip(float(np.dot(u0, u1)), -1.0, 1.0)))) > max_deg:
        return None
    mean = acc.mean(axis=0)
    return mean / float(np.linalg.norm(mean))
