"""The pure home-activity event model (Format A rows) and what a sensor event *means* for routine detection.

The live ingest path converts contract messages into :class:`HomeEvent` (see docs/detection-activity.md for the
mapping: PIR ``motion`` -> kind motion, front-door contact -> kind door, bed pad ``occupied`` -> kind bed, radar
``present`` -> kind motion...); the evaluation command reads the same events from CSV. Everything downstream
(baseline, detectors) sees only these events, so live and offline runs share one code path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

KINDS = frozenset({"motion", "door", "bed", "seat", "toilet", "appliance", "tap", "cabinet", "other"})
ROOMS = frozenset({"bedroom", "bathroom", "kitchen", "living", "hall", "entrance", "other"})

# Both edges of these sensors are a human action: a PIR "clear" means the person was moving until then, a door
# or cabinet closing is a hand on it, getting into or out of a bed/seat is a movement. The "off" edge of an
# appliance (microwave finished) or of a toilet flush is automatic and proves nothing about the person.
_HUMAN_OFF_KINDS = frozenset({"motion", "door", "cabinet", "bed", "seat", "tap"})

# Doors. Only a door to the outside means "went out"; a contact on an inner door (hall-bathroom, bedroom) says that
# someone passed a doorway, not on which side they are now. Format A data from other sources name doors freely,
# so the sensor name helps: an exterior-sounding name is an exit wherever it is placed, and a "door" contact of
# kind other/cabinet that is not furniture is an inner doorway.
_INSIDE_ROOMS = frozenset({"bathroom", "bedroom", "kitchen", "living"})
# fmt: off
_EXTERIOR_HINTS = (
    "front", "main", "entr", "exit", "outside", "outdoor", "garden", "patio", "porch", "garage", "balcony",
    "terrace", "street", "yard", "back", "foyer",
)
_FURNITURE_HINTS = (
    "cupboard", "cabinet", "fridge", "freezer", "wardrobe", "closet", "drawer", "oven", "microwave", "dishwasher",
    "washing", "medicine", "pantry", "cooler",
)
# fmt: on

# Pressure sensors that say "someone is resting here": evidence of presence and of being at rest, not of an
# emergency; the silence that follows has its own (much lower) hazard of getting up.
REST_KINDS = frozenset({"bed", "seat"})

# Silence contexts. A silence is judged against the hazard of the context it started in: where the person was
# last seen predicts how long they normally stay quiet (TV in the living room vs a bathroom visit).
FREE_CONTEXTS = ("bathroom", "bedroom", "kitchen", "living", "hall", "entrance", "other")
CONTEXTS = ("bed", "seat", "away", *FREE_CONTEXTS)


_ON_WORDS = frozenset({"1", "true", "on", "open", "opened", "occupied", "active", "present", "pressed", "yes"})
_OFF_WORDS = frozenset({"0", "false", "off", "close", "closed", "empty", "inactive", "absent", "released", "no"})


def parse_value(text: str | None) -> int:
    """Format A ``value``: 1/0, or the words datasets use for them (ON/OFF, OPEN/CLOSE, ...); else ValueError."""
    word = (text or "").strip().lower()
    if word in _ON_WORDS:
        return 1
    if word in _OFF_WORDS:
        return 0
    try:
        number = float(word)
    except ValueError:
        raise ValueError(f"value {text!r} is neither 1/0 nor on/off") from None
    if math.isnan(number):
        raise ValueError(f"value {text!r} is not a number")
    return 1 if number > 0 else 0


@dataclass(frozen=True, slots=True)
class HomeEvent:
    """One Format A row: ``ts`` is naive local wall-clock time; ``value`` 1 = on/open/occupied, 0 = off."""

    ts: datetime
    sensor: str
    kind: str
    room: str
    value: int
    exit: bool | None = None
    """For a door: True = door to the outside, False = inner door, None = infer it (Format A rows carry no such
    column; the live path knows it from the registry's room kinds)."""

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> HomeEvent:
        """Parse a CSV row (``ts,sensor,kind,room,value``); unknown kinds/rooms become ``other``."""
        kind = row["kind"].strip().lower()
        room = row["room"].strip().lower()
        ts = datetime.fromisoformat(row["ts"].strip())
        if ts.tzinfo is not None:
            ts = ts.replace(tzinfo=None)  # Format A is local wall-clock time
        return cls(
            ts=ts,
            sensor=row["sensor"].strip(),
            kind=kind if kind in KINDS else "other",
            room=room if room in ROOMS else "other",
            value=parse_value(row["value"]),
        )

    @property
    def is_human(self) -> bool:
        """True when this event proves a person acted at ``ts`` (it ends a silence)."""
        return self.value == 1 or self.kind in _HUMAN_OFF_KINDS or self.doorway is not None

    @property
    def doorway(self) -> str | None:
        """``"exterior"`` (a door to the outside), ``"interior"`` (an inner doorway) or None (not a door).

        A ``door`` is exterior unless it sits in a living room, bedroom, kitchen or bathroom and its name does not
        sound like an exit: when unsure, treat it as a way out, because "went out" suppresses inactivity alerts
        (a missed alert after an inner door beats a false alarm every time the person leaves home).
        """
        if self.exit is not None and (self.kind == "door" or "door" in self.sensor.lower()):
            return "exterior" if self.exit else "interior"
        name = self.sensor.lower()
        exterior_name = any(h in name for h in _EXTERIOR_HINTS)
        if self.kind == "door":
            return "interior" if self.room in _INSIDE_ROOMS and not exterior_name else "exterior"
        if self.kind in ("other", "cabinet") and "door" in name and not any(h in name for h in _FURNITURE_HINTS):
            return "exterior" if exterior_name else "interior"
        return None


@dataclass(frozen=True, slots=True)
class ResidentProfile:
    """What the detectors need to know about the resident(s) of one home.

    ``lives_alone`` / ``empty_nest`` raise the severity of every alert by one step (no one else will notice);
    ``fall_risk`` enables the night bed-exit alert (facility and family eldercare beds) with ``bed_exit_minutes``.
    """

    resident_id: str | None = None
    site_id: str | None = None
    lives_alone: bool = True
    empty_nest: bool = False
    fall_risk: bool = False
    bed_exit_minutes: float = 20.0

    @property
    def priority_bump(self) -> int:
        return 1 if (self.lives_alone or self.empty_nest) else 0
