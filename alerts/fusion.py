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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FallFusionConfig", "FallFusionDecision", "fuse_device_fall"]


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
    low_confidence."""
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
