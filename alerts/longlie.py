"""Long lie: time spent on the floor after a fall, escalated in stages until there is evidence of recovery (pure).

A "long lie" is clinically lying on the floor for >= 1 hour after a fall (Tinetti et al. 1993; Fleming &
Brayne 2008): it predicts pressure sores, dehydration, rhabdomyolysis and death within months, and it happens
mostly to people who live alone. So the platform escalates *before* that hour: default stages 30 s (did not get
up at once), 2 min, 10 min and 60 min (the clinical long lie), with rising severity. Each stage is one alert.

An episode starts with an accepted fall (device event or our accelerometer detector) or a radar reporting a
person on the floor. It ends with evidence of recovery: the radar sees the person standing or sitting, motion in
another room, the bed occupied, or the wearable walking. Stage escalation is driven by the clock (``due``), so
it happens even when no message arrives -- which is exactly the situation of a person lying still.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerts.alert import Severity

DEFAULT_STAGES_S: tuple[float, ...] = (30.0, 120.0, 600.0, 3600.0)
STAGE_SEVERITY: tuple[Severity, ...] = (Severity.WARNING, Severity.URGENT, Severity.CRITICAL, Severity.CRITICAL)


@dataclass
class Episode:
    """One person (or one room, when the person is unknown) on the floor since ``start``."""

    subject: str
    site_id: str
    start: datetime
    cause: str  # "fall" | "on_floor"
    resident_id: str | None = None
    room_id: str | None = None
    device_id: str | None = None
    stage: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "site_id": self.site_id,
            "start": self.start.isoformat(),
            "cause": self.cause,
            "resident_id": self.resident_id,
            "room_id": self.room_id,
            "device_id": self.device_id,
            "stage": self.stage,
        }


@dataclass(frozen=True, slots=True)
class StageDue:
    episode: Episode
    stage: int  # 1-based
    threshold_s: float
    skipped: tuple[int, ...] = ()  # lower stages crossed at the same time (e.g. after a long outage)

    @property
    def ts(self) -> datetime:
        """Event time of the stage: start + threshold (independent of when the clock looked)."""
        return self.episode.start + timedelta(seconds=self.threshold_s)


class LongLieTracker:
    """Episodes of one site, keyed by subject (resident id, else ``room:<id>``, else ``site``)."""

    def __init__(self, stages_s: Sequence[float] = DEFAULT_STAGES_S) -> None:
        if not stages_s or list(stages_s) != sorted(stages_s):
            raise ValueError("long-lie stages must be a non-empty increasing sequence of seconds")
        self.stages_s = tuple(float(s) for s in stages_s)
        self.episodes: dict[str, Episode] = {}

    def start(self, episode: Episode) -> bool:
        """Open an episode unless one is running for the subject (the earliest start wins). True if new."""
        current = self.episodes.get(episode.subject)
        if current is not None:
            if episode.start < current.start and current.stage == 0:
                current.start = episode.start
            return False
        self.episodes[episode.subject] = episode
        return True

    def recover(
        self, ts: datetime, *, grace: timedelta, resident_id: str | None = None, room_id: str | None = None,
        other_room: bool = False,
    ) -> list[Episode]:  # fmt: skip
        """End the episodes this recovery evidence applies to; return them.

        ``resident_id``: evidence about a known person ends only that person's episode (other residents may
        still be on the floor). ``room_id`` with ``other_room=False``: evidence in that room (radar standing) ends
        episodes in that room or with unknown room; with ``other_room=True`` (motion elsewhere) it ends only
        episodes whose room is known and different. Evidence older than ``start + grace`` is the fall itself.
        """
        ended = []
        for key, ep in list(self.episodes.items()):
            if ts < ep.start + grace:
                continue
            if resident_id is not None and ep.resident_id is not None and ep.resident_id != resident_id:
                continue
            if room_id is not None:
                if other_room and (ep.room_id is None or ep.room_id == room_id):
                    continue
                if not other_room and ep.room_id is not None and ep.room_id != room_id:
                    continue
            ended.append(self.episodes.pop(key))
        return ended

    def due(self, now: datetime) -> list[StageDue]:
        """Stages that became due by ``now``; only the highest newly crossed stage per episode is returned."""
        out = []
        for ep in self.episodes.values():
            elapsed = (now - ep.start).total_seconds()
            reached = sum(1 for s in self.stages_s if elapsed >= s)
            if reached > ep.stage:
                skipped = tuple(range(ep.stage + 1, reached))
                ep.stage = reached
                out.append(StageDue(ep, reached, self.stages_s[reached - 1], skipped))
        return out


def stage_severity(stage: int, n_stages: int) -> Severity:
    """Severity of a stage; with custom (e.g. fewer) stages the last is always the clinical long lie: critical."""
    if stage >= n_stages:
        return Severity.CRITICAL
    return STAGE_SEVERITY[min(stage, len(STAGE_SEVERITY)) - 1]
