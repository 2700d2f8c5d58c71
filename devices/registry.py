"""Registry file model (docs/registry.md) and its idempotent import.

The YAML is validated into pydantic models first (so a bad file fails with a clear message before anything is
written), then upserted in one transaction: loading the same file twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import psycopg
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from devices import registry_queries as q
from devices.errors import ContractError
from devices.payloads import DEVICE_KINDS
from devices.topics import DEVICE_ID_PATTERN

Id = str


class RegistryError(ContractError):
    """The registry file is unreadable or inconsistent."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Area(_M):
    id: Id
    name: str
    name_en: str | None = None
    level: Literal["city", "town", "community"]
    parent: Id | None = None


class Room(_M):
    id: Id
    name: str
    kind: Literal[
        "bedroom", "bathroom", "kitchen", "living", "hall", "entrance", "corridor", "dining", "activity", "other"
    ] = "other"
    floor: int = 1


class Zone(_M):
    id: Id
    name: str
    secure: bool = False
    exit: bool = False
    floor: int = 1


class Bed(_M):
    id: Id
    room: Id | None = None
    zone: Id | None = None
    type: Literal["nursing", "ordinary", "dementia"]


class Contact(_M):
    name: str
    relation: str | None = None
    role: Literal["family", "caregiver", "community_worker", "doctor", "staff"]
    phone: str | None = None
    order: int = 1
    locale: str = "zh-CN"


KeyElder = Literal["living_alone", "empty_nest", "very_old", "disabled", "seriously_ill"]


class Resident(_M):
    id: Id
    name: str
    birth_year: int | None = Field(default=None, ge=1890, le=2100)
    sex: Literal["F", "M"] | None = None
    lives_alone: bool = False
    empty_nest: bool = False
    dementia: bool = False
    fall_risk: Literal["low", "medium", "high"] = "low"
    bed_exit_minutes: float | None = Field(default=None, gt=0, le=720)
    """Night bed exit of a fall-risk resident: alert when not back in bed within this many minutes (default:
    the platform setting ELDERCARE_DETECT_BED_EXIT_MINUTES)."""
    key_elder: list[KeyElder] = Field(default_factory=list)
    bed: Id | None = None
    room: Id | None = None
    ble_tag: str | None = None
    contacts: list[Contact] = Field(default_factory=list)


class Device(_M):
    id: str = Field(pattern=DEVICE_ID_PATTERN)
    kind: str
    vendor: str | None = None
    model: str | None = None
    room: Id | None = None
    bed: Id | None = None
    resident: Id | None = None
    zone: Id | None = None
    safety_critical: bool = False
    heartbeat_s: int = Field(default=900, gt=0)
    password: str | None = None

    @model_validator(mode="after")
    def _known_kind(self) -> Device:
        if self.kind not in DEVICE_KINDS:
            raise ValueError(f"unknown device kind {self.kind!r}; known: {', '.join(sorted(DEVICE_KINDS))}")
        return self


class Site(_M):
    id: Id
    kind: Literal["home", "facility"]
    name: str
    name_en: str | None = None
    community: Id | None = None
    address: str | None = None
    family_bed: bool = False
    floors: int = Field(default=1, ge=1)
    timezone: str = "Asia/Shanghai"
    rooms: list[Room] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
    beds: list[Bed] = Field(default_factory=list)
    residents: list[Resident] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> Site:
        rooms = {r.id for r in self.rooms}
        zones = {z.id for z in self.zones}
        beds = {b.id for b in self.beds}
        residents = {r.id for r in self.residents}
        problems: list[str] = []

        def check(owner: str, ref: str | None, known: set[str], what: str) -> None:
            if ref is not None and ref not in known:
                problems.append(f"{owner} refers to unknown {what} {ref!r}")

        for b in self.beds:
            check(f"bed {b.id}", b.room, rooms, "room")
            check(f"bed {b.id}", b.zone, zones, "zone")
        for r in self.residents:
            check(f"resident {r.id}", r.bed, beds, "bed")
            check(f"resident {r.id}", r.room, rooms, "room")
        for d in self.devices:
            check(f"device {d.id}", d.room, rooms, "room")
            check(f"device {d.id}", d.bed, beds, "bed")
            check(f"device {d.id}", d.resident, residents, "resident")
            check(f"device {d.id}", d.zone, zones, "zone")
        if problems:
            raise ValueError(f"site {self.id}: " + "; ".join(problems))
        return self


class RegistryFile(_M):
    areas: list[Area] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> RegistryFile:
        seen: dict[str, set[str]] = {}
        dup: list[str] = []
        for kind, ids in (
            ("area", [a.id for a in self.areas]),
            ("site", [s.id for s in self.sites]),
            ("room", [r.id for s in self.sites for r in s.rooms]),
            ("zone", [z.id for s in self.sites for z in s.zones]),
            ("bed", [b.id for s in self.sites for b in s.beds]),
            ("resident", [r.id for s in self.sites for r in s.residents]),
            ("device", [d.id for s in self.sites for d in s.devices]),
        ):
            bucket = seen.setdefault(kind, set())
            for i in ids:
                if i in bucket:
                    dup.append(f"{kind} {i}")
                bucket.add(i)
        if dup:
            raise ValueError("duplicate ids: " + ", ".join(dup[:20]))
        return self


def parse_registry(text: str, source: str = "<registry>") -> RegistryFile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{source}: not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RegistryError(f"{source}: top level must be a mapping with 'areas' and/or 'sites'")
    try:
        return RegistryFile.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:20]]
        raise RegistryError(f"{source}: invalid registry file:\n" + "\n".join(lines)) from None


def read_registry(path: Path) -> RegistryFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read {path}: {exc.strerror}") from None
    return parse_registry(text, str(path))


def load_registry(conn: psycopg.Connection, reg: RegistryFile) -> dict[str, int]:
    """Upsert the whole file in one transaction; return counts per entity."""
    from devices.credentials import hash_password

    counts = dict.fromkeys(("areas", "sites", "rooms", "zones", "beds", "residents", "contacts", "devices"), 0)
    with conn.transaction(), conn.cursor() as cur:
        # Parents before children (areas reference their parent).
        for a in _areas_parents_first(reg.areas):
            cur.execute(q.UPSERT_AREA, (a.id, a.name, a.name_en, a.level, a.parent))
            counts["areas"] += 1
        for s in reg.sites:
            cur.execute(
                q.UPSERT_SITE,
                (s.id, s.kind, s.name, s.name_en, s.community, s.address, s.family_bed, s.floors, s.timezone),
            )
            counts["sites"] += 1
            for r in s.rooms:
                cur.execute(q.UPSERT_ROOM, (r.id, s.id, r.name, r.kind, r.floor))
            for z in s.zones:
                cur.execute(q.UPSERT_ZONE, (z.id, s.id, z.name, z.secure, z.exit, z.floor))
            for b in s.beds:
                cur.execute(q.UPSERT_BED, (b.id, s.id, b.room, b.zone, b.type))
            for p in s.residents:
                cur.execute(
                    q.UPSERT_RESIDENT,
                    (
                        p.id, s.id, p.name, p.birth_year, p.sex, p.lives_alone, p.empty_nest, p.dementia,
                        p.fall_risk, list(p.key_elder), p.bed, p.room, p.ble_tag, p.bed_exit_minutes,
                    ),
                )  # fmt: skip
                cur.execute(
                    q.DELETE_OTHER_CONTACTS, (p.id, [c.order for c in p.contacts], [c.name for c in p.contacts])
                )
                for c in p.contacts:
                    cur.execute(q.UPSERT_CONTACT, (p.id, c.name, c.relation, c.role, c.phone, c.order, c.locale))
                    counts["contacts"] += 1
            for d in s.devices:
                cur.execute(
                    q.UPSERT_DEVICE,
                    (
                        d.id, d.kind, d.vendor, d.model, s.id, d.room, d.bed, d.resident, d.zone,
                        d.safety_critical, d.heartbeat_s, hash_password(d.password) if d.password else None,
                    ),
                )  # fmt: skip
            counts["rooms"] += len(s.rooms)
            counts["zones"] += len(s.zones)
            counts["beds"] += len(s.beds)
            counts["residents"] += len(s.residents)
            counts["devices"] += len(s.devices)
    return counts


def _areas_parents_first(areas: list[Area]) -> list[Area]:
    by_id = {a.id: a for a in areas}
    order: list[Area] = []
    placed: set[str] = set()

    def visit(a: Area, depth: int = 0) -> None:
        if a.id in placed or depth > 10:
            return
        if a.parent and a.parent in by_id:
            visit(by_id[a.parent], depth + 1)
        placed.add(a.id)
        order.append(a)

    for a in areas:
        visit(a)
    return order
