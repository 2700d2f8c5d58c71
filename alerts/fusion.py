"""Accepting fall events reported by devices themselves (radar, wearable firmware) -- pure, no I/O.

Devices send a ``FallEvent`` with their own ``confidence`` (0..1) and, for radars, ``on_floor``. Vendors
calibrate confidence differently, so a single cut-off either misses soft falls or floods carers with alarms.
The rule here is deliberately small and explainable:

* confidence >= ``accept_confidence`` (default 0.8): accept on the device's word alone;
* confidence >= ``corroborated_confidence`` (default 0.4): accept only if independent evidence agrees --
  a radar sees a person on the floor, our own accelerometer detector fired within the time window, or there
  is no motion anywhere else in the home (a single resident cannot be on the floor and in the kitchen);
* motion elsewhere in the home within the window vetoes a corroboration-only acceptance (another person or the
  resident walking around) but never a high-confidence one: a missed fall costs more than a false alarm.

"Nobody moves elsewhere" is weak on its own: a lone resident sitting still or asleep gives it to every false
alarm of their wearable. So an acceptance resting on that alone is *held* for a short time (:class:`HeldFall`,
:func:`confirm_held_fall`) and confirmed only if what follows agrees: no motion in another room after the event,
the wearable not walking or upright again, the bed pad not occupied all along (someone in bed is not on the
floor). A fall corroborated by a radar on-floor posture or our own accelerometer detector is never held.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["FallFusionConfig", "FallFusionDecision", "HeldFall", "confirm_held_fall", "fuse_device_fall", "weak_only"]


@dataclass(frozen=True, slots=True)
class FallFusionConfig:
    accept_confidence: float = 0.8
    corroborated_confidence: float = 0.4

    def __post_init__(self) -> None:
        if not 0.0 <= self.corroborated_confidence <= self.accept_confidence <= 1.0:
            raise ValueError("need 0 <= corroborated_confidence <= accept_confidence <= 1")


@dataclass(frozen=True, slots=True)
class FallFusionDecision:
    accept: bool
    reason: str
    """Machine-readable reason code: high_confidence, corroborated, motion_elsewhere, not_corroborated,
    low_confidence; for a held fall (:func:`confirm_held_fall`) also still_after, moved_after, in_bed."""
    explanation: dict[str, Any] = field(default_factory=dict)


def fuse_device_fall(
    confidence: float,
    *,
    radar_on_floor: bool | None = None,
    wearable_fall_detected: bool = False,
    motion_elsewhere: bool | None = None,
    config: FallFusionConfig | None = None,
) -> FallFusionDecision:
    """Decide whether a device-reported fall becomes an alert.

    ``radar_on_floor``: a presence radar in the same room reports a person on the floor (None = no radar).
    ``wearable_fall_detected``: our accelerometer detector fired for this resident around the same time.
    ``motion_elsewhere``: motion sensors in *other* rooms fired in the window (None = unknown / no sensors).
    """
    c = config or FallFusionConfig()
    conf = min(1.0, max(0.0, float(confidence))) if math.isfinite(confidence) else 0.0  # NaN -> reject
    support = [
        name
        for name, ok in (
            ("radar_on_floor", radar_on_floor is True),
            ("wearable_fall_detected", wearable_fall_detected),
            ("no_motion_elsewhere", motion_elsewhere is False),
        )
        if ok
    ]
    evidence: dict[str, Any] = {
        "confidence": conf,
        "radar_on_floor": radar_on_floor,
        "wearable_fall_detected": wearable_fall_detected,
        "motion_elsewhere": motion_elsewhere,
        "supporting": support,
        "thresholds": {"accept": c.accept_confidence, "corroborated": c.corroborated_confidence},
    }
    if conf >= c.accept_confidence:
        return FallFusionDecision(True, "high_confidence", evidence)
    if conf < c.corroborated_confidence:
        return FallFusionDecision(False, "low_confidence", evidence)
    if motion_elsewhere is True and radar_on_floor is not True and not wearable_fall_detected:
        return FallFusionDecision(False, "motion_elsewhere", evidence)
    if support:
        return FallFusionDecision(True, "corroborated", evidence)
    return FallFusionDecision(False, "not_corroborated", evidence)


def weak_only(decision: FallFusionDecision) -> bool:
    """Accepted on "no motion elsewhere" alone: the acceptance that is held for confirmation."""
    return decision.reason == "corroborated" and decision.explanation.get("supporting") == ["no_motion_elsewhere"]


@dataclass(frozen=True, slots=True)
class HeldFall:
    """A device fall event accepted on weak evidence only, waiting until ``until`` for what follows."""

    device_id: str
    site_id: str
    resident_id: str | None
    room_id: str | None
    ts: datetime
    until: datetime
    received_at: datetime
    decision: FallFusionDecision
    seen_room: str | None = None
    """Where the resident is: the device's room, or for a wearable the room of the last motion before the event.
    Motion there afterwards may be the fallen person moving on the floor; motion in any other room is not."""


def confirm_held_fall(
    held: HeldFall,
    *,
    motion_elsewhere_after: bool,
    wearable_up_after: bool,
    in_bed_throughout: bool,
    radar_on_floor: bool = False,
    wearable_fall_detected: bool = False,
) -> FallFusionDecision:
    """Decide a held fall at the end of its hold from the evidence that arrived meanwhile.

    Strong evidence (a radar on-floor posture, our accelerometer detector) confirms it; any sign of a person up
    and about -- motion in another room, the wearable walking or back in its upright orientation -- or a bed pad
    occupied since before the event rejects it (reason ``moved_after`` / ``in_bed``); otherwise the stillness
    that followed confirms it (reason ``still_after``).
    """
    evidence = {
        **held.decision.explanation,
        "held_until": held.until.isoformat(),
        "motion_elsewhere_after": motion_elsewhere_after,
        "wearable_up_after": wearable_up_after,
        "in_bed_throughout": in_bed_throughout,
    }
    if radar_on_floor or wearable_fall_detected:
        strong = [
            n
            for n, ok in (("radar_on_floor", radar_on_floor), ("wearable_fall_detected", wearable_fall_detected))
            if ok
        ]
        return FallFusionDecision(True, "corroborated", {**evidence, "supporting": [*strong, "no_motion_elsewhere"]})
    if motion_elsewhere_after or wearable_up_after:
        return FallFusionDecision(False, "moved_after", evidence)
    if in_bed_throughout:
        return FallFusionDecision(False, "in_bed", evidence)
    return FallFusionDecision(True, "still_after", {**evidence, "supporting": ["no_motion_elsewhere", "still_after"]})
