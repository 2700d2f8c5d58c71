"""What the detection engine knows about the registry: sites, rooms, zones, residents, devices (pure values).

Loaded from the database by :mod:`alerts.store`; built by hand in tests. Lookups answer the questions the
detectors ask: whose fall is this, which room is that PIR in, which resident wears tag X.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: str
    kind: str = "home"  # home | facility
    timezone: str = DEFAULT_TZ
    family_bed: bool = False


@dataclass(frozen=True, slots=True)
class RoomInfo:
    id: str
    site_id: str
    kind: str = "other"


@dataclass(frozen=True, slots=True)
class ZoneMeta:
    id: str
    site_id: str
    secure: bool = False
    is_exit: bool = False


@dataclass(frozen=True, slots=True)
class ResidentInfo:
    id: str
    site_id: str
    lives_alone: bool = False
    empty_nest: bool = False
    dementia: bool = False
    fall_risk: str = "low"
    ble_tag: str | None = None
    bed_id: str | None = None
    room_id: str | None = None
    bed_exit_minutes: float | None = None
    """Own delay of the night bed-exit alert (None: the engine's default)."""

    @property
    def priority_bump(self) -> int:
        """Living alone or empty-nest: nobody else will notice, so every alert is one step more urgent."""
        return 1 if (self.lives_alone or self.empty_nest) else 0

    @property
    def at_fall_risk(self) -> bool:
        return self.fall_risk in ("medium", "high")


@dataclass(frozen=True, slots=True)
class DeviceMeta:
    id: str
    kind: str
    site_id: str
    room_id: str | None = None
    bed_id: str | None = None
    resident_id: str | None = None
    zone_id: str | None = None
    safety_critical: bool = False
    heartbeat_s: int = 900
    created_at: datetime | None = None


@dataclass
class Registry:
    """The registry as seen by detection; immutable once built (a refresh builds a new one)."""

    sites: dict[str, SiteInfo] = field(default_factory=dict)
    rooms: dict[str, RoomInfo] = field(default_factory=dict)
    zones: dict[str, ZoneMeta] = field(default_factory=dict)
    residents: dict[str, ResidentInfo] = field(default_factory=dict)
    devices: dict[str, DeviceMeta] = field(default_factory=dict)
    bed_rooms: dict[str, str] = field(default_factory=dict)  # bed id -> room id

    @classmethod
    def build(
        cls,
        *,
        sites: Iterable[SiteInfo] = (),
        rooms: Iterable[RoomInfo] = (),
        zones: Iterable[ZoneMeta] = (),
        residents: Iterable[ResidentInfo] = (),
        devices: Iterable[DeviceMeta] = (),
        bed_rooms: dict[str, str] | None = None,
    ) -> Registry:
        return cls(
            sites={s.id: s for s in sites},
            rooms={r.id: r for r in rooms},
            zones={z.id: z for z in zones},
            residents={r.id: r for r in residents},
            devices={d.id: d for d in devices},
            bed_rooms=dict(bed_rooms or {}),
        )

    @cached_property
    def residents_by_site(self) -> dict[str, list[ResidentInfo]]:
        out: dict[str, list[ResidentInfo]] = {}
        for r in self.residents.values():
            out.setdefault(r.site_id, []).append(r)
        return out

    @cached_property
    def devices_by_site(self) -> dict[str, list[DeviceMeta]]:
        out: dict[str, list[DeviceMeta]] = {}
        for d in self.devices.values():
            out.setdefault(d.site_id, []).append(d)
        return out

    @cached_property
    def residents_by_tag(self) -> dict[str, ResidentInfo]:
        return {r.ble_tag: r for r in self.residents.values() if r.ble_tag}

    def site(self, site_id: str) -> SiteInfo:
        return self.sites.get(site_id) or SiteInfo(site_id)

    def tz(self, site_id: str) -> tzinfo:
        return _zone(self.site(site_id).timezone)

    def room_of(self, device: DeviceMeta) -> str | None:
        if device.room_id:
            return device.room_id
        if device.bed_id:
            return self.bed_rooms.get(device.bed_id)
        return None

    def room_kind(self, room_id: str | None) -> str:
        room = self.rooms.get(room_id) if room_id else None
        return room.kind if room else "other"

    def resident_of(self, device: DeviceMeta) -> ResidentInfo | None:
        """Whose data is this: the bound resident, the bed's or room's resident, or a home's only resident."""
        if device.resident_id and device.resident_id in self.residents:
            return self.residents[device.resident_id]
        people = self.residents_by_site.get(device.site_id, [])
        if device.bed_id:
            for r in people:
                if r.bed_id == device.bed_id:
                    return r
        room = self.room_of(device)
        if room:
            in_room = [r for r in people if r.room_id == room]
            if len(in_room) == 1:
                return in_room[0]
        if len(people) == 1 and self.site(device.site_id).kind == "home":
            return people[0]
        return None


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)
