"""The simulated world as plain data: areas, sites, rooms, zones, beds, residents, devices, timeline segments."""

from __future__ import annotations

from dataclasses import dataclass, field

# Activities of a timeline segment and the posture a radar sees for them.
POSTURE = {
    "sleep": "lying",
    "nap": "lying",
    "rest_bed": "lying",
    "toilet": "sitting",
    "wash": "standing",
    "cook": "standing",
    "eat": "sitting",
    "sit": "sitting",
    "walk": "standing",
    "wander": "standing",
    "visit": "standing",
    "staff": "standing",
    "fall": "lying",
    "floor": "lying",
    "out": None,
}
IN_BED = frozenset({"sleep", "nap", "rest_bed"})
ON_FLOOR = frozenset({"fall", "floor"})


@dataclass
class Area:
    id: str
    name: str
    level: str
    name_en: str | None = None
    parent: str | None = None


@dataclass
class Room:
    id: str
    name: str
    kind: str
    floor: int = 1
    zone: str | None = None  # BLE zone covering the room (facilities)


@dataclass
class Zone:
    id: str
    name: str
    floor: int = 1
    secure: bool = False
    exit: bool = False


@dataclass
class Bed:
    id: str
    room: str
    type: str  # nursing | ordinary | dementia
    zone: str | None = None


@dataclass
class Resident:
    id: str
    name: str
    birth_year: int
    sex: str
    site: str
    profile: str  # early_riser | night_owl | frail | active | typical | facility
    lives_alone: bool
    empty_nest: bool
    dementia: bool
    fall_risk: str
    key_elder: list[str]
    bed: str | None
    room: str | None
    ble_tag: str | None = None
    contacts: list[dict[str, object]] = field(default_factory=list)
    # generation parameters (not part of the registry)
    floor: int = 1
    index: int = 0


@dataclass
class Device:
    id: str
    kind: str
    site: str
    vendor: str
    model: str
    firmware: str
    room: str | None = None
    bed: str | None = None
    resident: str | None = None
    zone: str | None = None
    safety_critical: bool = False
    heartbeat_s: int = 3600
    password: str | None = None
    battery_powered: bool = True
    ts_format: str = "rfc3339"  # rfc3339 | epoch (vendors differ; the contract allows both)


@dataclass
class Site:
    id: str
    kind: str  # home | facility
    name: str
    community: str | None
    family_bed: bool = False
    floors: int = 1
    rooms: list[Room] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)
    beds: list[Bed] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    index: int = 0

    def room_of_kind(self, kind: str, floor: int | None = None) -> Room | None:
        for r in self.rooms:
            if r.kind == kind and (floor is None or r.floor == floor):
                return r
        return None


@dataclass
class Fleet:
    areas: list[Area]
    sites: list[Site]

    def residents(self) -> list[Resident]:
        return [r for s in self.sites for r in s.residents]

    def devices(self) -> list[Device]:
        return [d for s in self.sites for d in s.devices]


@dataclass(slots=True)
class Occupant:
    """Someone sensors can see: a resident, a member of staff or a visitor (only residents carry BLE tags)."""

    id: str
    kind: str  # resident | staff | visitor
    resident: Resident | None = None
    tag: str | None = None


@dataclass(slots=True)
class Seg:
    """One stretch of a person's timeline: where they are and what they do, [start, end) in epoch ms."""

    start: int
    end: int
    place: str  # a room id, or "out" (away from the site)
    activity: str
    occ: Occupant
    bed: str | None = None
    fall: dict[str, object] | None = None  # for activity "fall": waveform/detection parameters
