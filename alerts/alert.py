"""The alert value object shared by every detector (inactivity, routine, falls, long lie...).

Detectors only *emit* alerts; the alert lifecycle (acknowledgement, escalation deadlines, notification outbox)
lives in the database (STYLE habit 10). So an :class:`Alert` is a plain, immutable, JSON-able record: what
happened (``type``), how urgent (``severity``), when, the evidence, and a human-readable explanation in zh-CN and
English (expected vs observed), so a carer understands *why* without reading the model.

:class:`AlertGate` is the small de-duplication state machine every detector needs: one alert per resident and
type within a cooldown, so a slowly continuing anomaly does not page the family every minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """Ordered alert severities; compare with :meth:`rank`, raise with :meth:`bump`."""

    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def bump(self, steps: int = 1) -> Severity:
        """Raise (or lower, with negative ``steps``) the severity, clamped to info..critical."""
        return _ORDER[max(0, min(len(_ORDER) - 1, self.rank + steps))]


_ORDER: tuple[Severity, ...] = (Severity.INFO, Severity.WARNING, Severity.URGENT, Severity.CRITICAL)


@dataclass(frozen=True, slots=True)
class Alert:
    """One detector finding. Generic on purpose: the fall detector emits ``fall`` / ``long_lie`` with it too.

    ``ts`` is the time the anomaly was established (the detector's clock, not the wall clock of the process),
    ``evidence`` is a JSON-able dict of the numbers behind the decision (expected vs observed).
    """

    ts: datetime
    type: str
    severity: Severity
    explanation_zh: str
    explanation_en: str
    evidence: dict[str, Any] = field(default_factory=dict)
    resident_id: str | None = None
    site_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; ``explanation`` is zh-CN first then English (the platform's primary language)."""
        return {
            "ts": self.ts.isoformat(),
            "type": self.type,
            "severity": self.severity.value,
            "explanation": f"{self.explanation_zh} / {self.explanation_en}",
            "explanation_zh": self.explanation_zh,
            "explanation_en": self.explanation_en,
            "evidence": self.evidence,
            "resident_id": self.resident_id,
            "site_id": self.site_id,
        }


@dataclass
class AlertGate:
    """Cooldown de-duplication per (resident, type): an alert passes only if the last one of that key is older
    than the cooldown. State is a plain dict so detectors can snapshot/restore it."""

    cooldowns: dict[str, timedelta]
    default_cooldown: timedelta = timedelta(hours=3)
    last: dict[str, datetime] = field(default_factory=dict)

    def allow(self, alert_type: str, ts: datetime, resident_id: str | None = None) -> bool:
        """Return True (and remember ``ts``) when an alert of this type may be emitted now."""
        key = f"{resident_id or ''}|{alert_type}"
        previous = self.last.get(key)
        cooldown = self.cooldowns.get(alert_type, self.default_cooldown)
        if previous is not None and ts - previous < cooldown:
            return False
        self.last[key] = ts
        return True

    def snapshot(self) -> dict[str, str]:
        return {key: ts.isoformat() for key, ts in self.last.items()}

    def restore(self, data: dict[str, str]) -> None:
        self.last = {key: datetime.fromisoformat(ts) for key, ts in data.items()}
