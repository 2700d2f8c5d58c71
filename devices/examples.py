"""One valid example message per kind: the vendor guide shows them, tests validate them, the demo sends them."""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, Any]] = {
    "bed": {
        "v": 1, "id": "1001", "ts": "2026-11-28T06:12:00.000+08:00", "kind": "bed",
        "occupied": True, "movement": 12.5, "heart_rate": 64, "respiration_rate": 15,
    },
    "motion": {"v": 1, "id": "88121", "ts": 1795826520000, "kind": "motion", "motion": True},
    "door": {"v": 1, "id": "5012", "ts": "2026-11-28T07:30:05Z", "kind": "door", "open": True},
    "presence": {
        "v": 1, "id": "77", "ts": "2026-11-28T07:31:00Z", "kind": "presence",
        "present": True, "posture": "lying", "on_floor": True, "targets": 1,
    },
    "accel": {
        "v": 1, "id": "w-000123", "ts": "2026-11-28T07:31:00.000Z", "kind": "accel",
        "rate_hz": 50, "unit": "g", "samples": [[0.01, -0.02, 0.99], [0.02, -0.01, 1.01], [0.0, 0.0, 1.0]],
    },
    "ble": {"v": 1, "id": "g-9001", "ts": "2026-11-28T22:10:00Z", "kind": "ble", "tag": "tag-0042",
            "zone": "fac-01-dz", "rssi": -71},
    "fall": {"v": 1, "id": "f-12", "ts": "2026-11-28T07:31:02Z", "kind": "fall", "confidence": 0.87,
             "on_floor": True},
    "sos": {"v": 1, "id": "s-3", "ts": "2026-11-28T07:40:00Z", "kind": "sos", "long_press": False},
    "status": {"v": 1, "id": "st-55", "ts": "2026-11-28T00:00:00Z", "kind": "status", "state": "online",
               "battery": 87, "signal": -67, "firmware": "2.4.1"},
}  # fmt: skip

# A device kind able to send each message kind (for docs and tests).
SENDER: dict[str, str] = {
    "bed": "bed_sensor",
    "motion": "pir",
    "door": "door_contact",
    "presence": "radar",
    "accel": "wearable",
    "ble": "ble_gateway",
    "fall": "radar",
    "sos": "sos_button",
    "status": "pir",
}
