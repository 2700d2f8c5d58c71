"""Run-wide options and the ground-truth label collector shared by the device models."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from typing import Any

from simulator.clock import Rfc3339


@dataclass(frozen=True)
class SimOptions:
    """Device behaviour knobs (CLI flags); defaults keep a 30-day, 100-home run at a few million messages."""

    status_s: int = 1800  # status heartbeat period (registry heartbeat_s = 2 x this + 300)
    bed_occupied_s: int = 120  # bed sensor report period while occupied
    bed_empty_s: int = 900  # ... and while empty (always also on change)
    radar_keepalive_s: int = 300  # radar re-reports presence while someone is there
    ble_interval_s: int = 180  # a gateway re-reports a present tag this often (and at once on arrival)
    pir_blind_s: int = 60  # PIR blind time after a trigger
    pir_false_per_day: float = 0.3  # spurious PIR triggers (sunlight, heating, insects)
    accel_hz: float = 50.0  # wearable sample rate
    accel_window_s: int = 4  # seconds of accelerometer batches streamed around each activity change
    accel_fall_post_s: int = 26  # seconds streamed after a fall impact
    offline_per_day: float = 0.01  # chance per device-day of a background radio outage (5-45 min)
    radar_fall_detect_p: float = 0.85
    wearable_fall_detect_p: float = 0.8
    radar_false_fall_per_day: float = 0.05
    wearable_false_fall_per_day: float = 0.03
    wearable_share: float = 0.35  # share of home residents (other than high fall risk) wearing a wearable

    @property
    def heartbeat_s(self) -> int:
        return 2 * self.status_s + 300


class Labels:
    """Ground truth: every injected event, written as JSON Lines in time order (flushed as time passes)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str, str, str, str, dict[str, Any]]] = []
        self._fmt = Rfc3339()
        self.counts: dict[str, int] = {}

    def add(self, time_ms: int, site: str, resident: str | None, kind: str, details: dict[str, Any]) -> None:
        key = json.dumps(details, sort_keys=True, ensure_ascii=False)
        heapq.heappush(self._heap, (time_ms, site, resident or "", kind, key, details))

    def pop_until(self, t_ms: int | None) -> list[str]:
        """JSON lines of the labels before ``t_ms`` (all of them when None), in a deterministic order."""
        out = []
        while self._heap and (t_ms is None or self._heap[0][0] < t_ms):
            time_ms, site, resident, kind, _key, details = heapq.heappop(self._heap)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            rec = {
                "time": self._fmt(time_ms),
                "resident": resident or None,
                "site": site,
                "kind": kind,
                "details": details,
            }
            out.append(json.dumps(rec, ensure_ascii=False, sort_keys=False))
        return out


@dataclass
class SimContext:
    seed: int
    prefix: str
    start: int
    end: int
    opts: SimOptions
    labels: Labels = field(default_factory=Labels)
    fmt: Rfc3339 = field(default_factory=Rfc3339)
