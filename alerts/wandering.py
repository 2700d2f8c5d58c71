"""Dementia zones: exit / leaving the secure zone, and night wandering, from BLE tag sightings (pure).

A zone gateway reports which tags it sees. For a resident with dementia, a sighting in a zone marked ``is_exit``
(exits, lift lobbies), or in a non-secure zone right after the secure care zone, is a ``zone_exit``: the moment
to intervene is before the door, not after. At night (default 22:00-06:00 site time), moving between zones
``moves`` times within ``window`` is ``night_wandering`` (restless walking, the classic sundowning pattern).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.context import ZoneMeta


@dataclass(frozen=True, slots=True)
class ZoneFinding:
    type: str  # zone_exit | night_wandering
    zone: ZoneMeta
    previous: ZoneMeta | None
    left_secure: bool = False
    moves: int = 0


@dataclass
class WanderingWatch:
    """Last zone and recent zone changes of each tagged resident of one site."""

    night_hours: tuple[int, int] = (22, 6)
    moves: int = 3
    window: timedelta = timedelta(minutes=30)
    last_zone: dict[str, tuple[ZoneMeta, datetime]] = field(default_factory=dict)
    changes: dict[str, deque[datetime]] = field(default_factory=dict)

    def sighting(self, resident_id: str, zone: ZoneMeta, ts: datetime, local_hour: int) -> list[ZoneFinding]:
        prev = self.last_zone.get(resident_id)
        if prev is not None and prev[0].id == zone.id:
            return []
        self.last_zone[resident_id] = (zone, ts)
        prev_zone = prev[0] if prev else None
        found = []
        left_secure = prev_zone is not None and prev_zone.secure and not zone.secure
        if zone.is_exit or left_secure:
            found.append(ZoneFinding("zone_exit", zone, prev_zone, left_secure))
        if prev_zone is not None:
            recent = self.changes.setdefault(resident_id, deque(maxlen=64))
            recent.append(ts)
            while recent and ts - recent[0] > self.window:
                recent.popleft()
            lo, hi = self.night_hours
            if (local_hour >= lo or local_hour < hi) and len(recent) >= self.moves:
                found.append(ZoneFinding("night_wandering", zone, prev_zone, left_secure, len(recent)))
        return found
