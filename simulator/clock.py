"""Virtual time: simulation start, fast RFC 3339 formatting, real-time pacing.

All simulation times are integer epoch milliseconds (UTC). Sites live in Asia/Shanghai (UTC+8, no daylight
saving time), so a local day is exactly 86 400 000 ms and "local time of day" is simple arithmetic.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000
LOCAL_OFFSET_MS = 8 * HOUR_MS  # Asia/Shanghai has had no DST since 1991


def local_midnight(ms: int) -> int:
    """Epoch ms of the local (Asia/Shanghai) midnight at or before ``ms``."""
    return ((ms + LOCAL_OFFSET_MS) // DAY_MS) * DAY_MS - LOCAL_OFFSET_MS


def default_start(days: float, now_ms: int | None = None) -> int:
    """Accelerated runs start ``days`` days before today's local midnight, so the stream ends near now.

    The platform rejects timestamps more than 5 minutes in the future or 40 days in the past; ending at the last
    local midnight keeps every timestamp in the past and within ``days`` + 1 days of now.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return local_midnight(now_ms) - round(days * DAY_MS)


def realtime_start(now_ms: int | None = None) -> int:
    """Real-time runs start now (rounded down to the second)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return now_ms - now_ms % 1000


def parse_start(text: str) -> int:
    """``--start``: an ISO date or date-time; without an offset it is local (Asia/Shanghai) time."""
    dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return int(dt.timestamp() * 1000)


def local_tod_ms(ms: int) -> int:
    """Milliseconds since local midnight."""
    return (ms + LOCAL_OFFSET_MS) % DAY_MS


def hhmm_to_ms(text: str) -> int:
    """``"07:30"`` or ``"07:30:15"`` to milliseconds after midnight."""
    parts = [int(p) for p in str(text).split(":")]
    if len(parts) == 2:
        parts.append(0)
    if len(parts) != 3 or not (0 <= parts[0] <= 47 and 0 <= parts[1] < 60 and 0 <= parts[2] < 60):
        raise ValueError(f"not a time of day: {text!r}")
    return ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000


class Rfc3339:
    """Fast RFC 3339 UTC formatting with milliseconds (``2025-01-31T23:59:59.123Z``), cached per day."""

    __slots__ = ("_days",)

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def __call__(self, ms: int) -> str:
        day, rem = divmod(ms, DAY_MS)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).strftime("%Y-%m-%dT")
            self._days[day] = prefix
        s, milli = divmod(rem, 1000)
        m, s = divmod(s, 60)
        h, m = divmod(m, 60)
        return f"{prefix}{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def iso(ms: int) -> str:
    """Readable RFC 3339 (UTC, milliseconds) for labels, logs and reports."""
    return Rfc3339()(ms)


class Pacer:
    """Maps virtual time to wall time for real-time (speed 1) or scaled (speed X) runs; speed 0 = no pacing."""

    def __init__(self, vt0_ms: int, speed: float) -> None:
        self.vt0 = vt0_ms
        self.speed = speed
        self.wall0 = time.monotonic()

    def wall_due(self, vt_ms: int) -> float:
        return self.wall0 + (vt_ms - self.vt0) / 1000.0 / self.speed

    def wait_until(self, vt_ms: int) -> None:
        if self.speed <= 0:
            return
        delay = self.wall_due(vt_ms) - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def now_vt(self) -> int:
        """The virtual time that corresponds to the wall clock now (real-time runs)."""
        if self.speed <= 0:
            return self.vt0
        return self.vt0 + int((time.monotonic() - self.wall0) * 1000 * self.speed)
