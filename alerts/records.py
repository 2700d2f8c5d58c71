"""Alert records crossing the engine boundary: resolutions out, stored alert rows in (start-up) (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alerts.alert import Alert
from alerts.longlie import Episode


@dataclass(frozen=True, slots=True)
class Resolution:
    """An alert condition that ended (the adapter resolves the open rows of that key)."""

    site_id: str
    type: str
    ts: datetime
    reason: str
    resident_id: str | None = None
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert row as read back at start-up (cooldowns, open long lies, devices already reported silent)."""

    site_id: str
    type: str
    ts: datetime
    status: str
    resident_id: str | None = None
    device_id: str | None = None
    stage: int | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    condition_ended: bool = False  # e.g. a fall row whose long lie ended (person up): the row stays open for a carer


def episode_from_row(row: StoredAlert) -> Episode | None:
    ev = row.evidence or {}
    try:
        start = datetime.fromisoformat(str(ev.get("start") or ev.get("t_impact") or row.ts.isoformat()))
    except ValueError:
        return None
    if row.type == "fall":
        start = row.ts if "t_impact" not in ev else start
    subject = ev.get("subject") or (row.resident_id or (f"room:{ev['room_id']}" if ev.get("room_id") else None))
    subject = subject or f"site:{row.site_id}"
    return Episode(
        subject, row.site_id, start, str(ev.get("cause", "fall")), row.resident_id, ev.get("room_id"),
        row.device_id or ev.get("device_id"), int(row.stage or 0),
    )  # fmt: skip


def dedup_key(alert: Alert) -> str:
    """Deterministic id of one finding: the same alert re-derived after a restart maps to the same row."""
    ev = alert.evidence
    parts = (
        alert.site_id or "",
        alert.resident_id or "",
        alert.type,
        str(ev.get("stage", "")) if alert.type == "long_lie" else "",
        str(ev.get("device_id", "")) if alert.type in ("device_silent", "long_lie") else "",
        alert.ts.astimezone(UTC).isoformat(timespec="milliseconds"),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def alert_row(alert: Alert, key: str, raised_at: datetime) -> dict[str, Any]:
    """The ``alert`` table row (and, with :func:`alert_message`, the MQTT payload) of an alert."""
    ev = alert.evidence
    stage = ev.get("stage") if alert.type == "long_lie" else None
    return {
        "dedup_key": key,
        "site_id": alert.site_id,
        "resident_id": alert.resident_id,
        "device_id": ev.get("device_id"),
        "type": alert.type,
        "severity": alert.severity.value,
        "ts": alert.ts,
        "raised_at": raised_at,
        "stage": int(stage) if stage is not None else None,
        "explanation_zh": alert.explanation_zh,
        "explanation_en": alert.explanation_en,
        "evidence": ev,
    }


def alert_message(row: dict[str, Any]) -> bytes:
    """JSON published on ``alert_topic(prefix, site, type)`` (QoS 1); ``alert_id`` is the row's dedup_key."""
    body = {
        "v": 1,
        "alert_id": row["dedup_key"],
        "type": row["type"],
        "severity": row["severity"],
        "site_id": row["site_id"],
        "resident_id": row["resident_id"],
        "device_id": row["device_id"],
        "stage": row["stage"],
        "ts": row["ts"].astimezone(UTC).isoformat(timespec="milliseconds"),
        "raised_at": row["raised_at"].astimezone(UTC).isoformat(timespec="milliseconds"),
        "explanation_zh": row["explanation_zh"],
        "explanation_en": row["explanation_en"],
        "evidence": row["evidence"],
    }
    return json.dumps(body, ensure_ascii=False, default=str, separators=(",", ":")).encode()
