"""Database adapter of detection: registry context, start-up state, alert rows (psycopg 3; SQL in queries).

Exceptions::

    StoreUnavailable   the database cannot be reached or lost the connection (retry later; nothing is lost)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from alerts import queries as q
from alerts.context import DeviceMeta, Registry, ResidentInfo, RoomInfo, SiteInfo, ZoneMeta
from alerts.convert import Reading
from alerts.records import Resolution, StoredAlert

log = logging.getLogger(__name__)

HISTORY_KINDS = ["motion", "door", "bed", "presence"]
HISTORY_DEVICE_KINDS = frozenset({"pir", "door_contact", "bed_sensor", "radar"})


class StoreUnavailable(RuntimeError):
    """The database cannot take reads/writes right now (connection lost, server restarting)."""


@dataclass
class StartupState:
    last_seen: dict[str, datetime] = field(default_factory=dict)
    offline: set[str] = field(default_factory=set)
    alerts: list[StoredAlert] = field(default_factory=list)


class AlertStore:
    """Owns one connection; used by one thread at a time."""

    def __init__(self, url: str, *, application_name: str = "eldercare-detect") -> None:
        self._url = url
        self._app = application_name
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self._url, application_name=self._app, connect_timeout=5)
            except psycopg.OperationalError as exc:
                raise StoreUnavailable(str(exc).strip()) from exc
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def _run(self, fn: Any) -> Any:
        conn = self._connection()
        try:
            with conn.transaction():
                return fn(conn)
        except psycopg.OperationalError as exc:
            self.close()
            raise StoreUnavailable(str(exc).strip()) from exc

    # --- reads ------------------------------------------------------------------------------------------------

    def load_registry(self) -> Registry:
        def read(conn: psycopg.Connection) -> Registry:
            return Registry.build(
                sites=[SiteInfo(*r) for r in conn.execute(q.SITES)],
                rooms=[RoomInfo(*r) for r in conn.execute(q.ROOMS)],
                zones=[ZoneMeta(*r) for r in conn.execute(q.ZONES)],
                residents=[ResidentInfo(*r) for r in conn.execute(q.RESIDENTS)],
                devices=[DeviceMeta(*r) for r in conn.execute(q.DEVICES)],
                bed_rooms={bed: room for bed, room in conn.execute(q.BEDS)},
            )

        reg: Registry = self._run(read)
        return reg

    def load_startup(self, registry: Registry, now: datetime) -> StartupState:
        """Device liveness and the alerts that matter for a restart (open ones, and the last day for cooldowns)."""
        max_hb = max((d.heartbeat_s for d in registry.devices.values() if d.safety_critical), default=900)

        def read(conn: psycopg.Connection) -> StartupState:
            st = StartupState()
            for dev, seen, online in conn.execute(q.DEVICE_STATE):
                if seen is not None:
                    st.last_seen[dev] = seen
                if online is False:
                    st.offline.add(dev)
            since = now - timedelta(seconds=max_hb + 600)
            for dev, seen in conn.execute(q.RECENT_SEEN, {"since": since}):
                if seen is not None and (dev not in st.last_seen or seen > st.last_seen[dev]):
                    st.last_seen[dev] = seen
            for row in conn.execute(q.RECENT_ALERTS, {"since": now - timedelta(days=1)}):
                site, typ, ts, status, res, dev, stage, evidence, ended = row
                st.alerts.append(StoredAlert(site, typ, ts, status, res, dev, stage, evidence or {}, bool(ended)))
            return st

        state: StartupState = self._run(read)
        return state

    def site_history(self, registry: Registry, site_id: str, since: datetime, until: datetime) -> list[Reading]:
        """Stored motion/door/bed/presence telemetry of one site, oldest first, as engine readings."""
        devices = [d.id for d in registry.devices_by_site.get(site_id, []) if d.kind in HISTORY_DEVICE_KINDS]
        if not devices:
            return []

        def read(conn: psycopg.Connection) -> list[Reading]:
            params = {"devices": devices, "since": since, "until": until, "kinds": HISTORY_KINDS}
            return [
                Reading(dev, kind, ts, data, received_at)
                for ts, dev, kind, received_at, data in conn.execute(q.SITE_HISTORY, params)
            ]

        rows: list[Reading] = self._run(read)
        return rows

    def load_snapshots(self) -> dict[str, dict[str, Any]]:
        def read(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
            return {site: state for site, state, _saved in conn.execute(q.SNAPSHOTS)}

        out: dict[str, dict[str, Any]] = self._run(read)
        return out

    def list_alerts(self, site: str | None, since: datetime | None, limit: int = 100) -> list[dict[str, Any]]:
        def read(conn: psycopg.Connection) -> list[dict[str, Any]]:
            cur = conn.execute(
                q.list_alerts(site is not None, since is not None), {"site": site, "since": since, "limit": limit}
            )
            names = [c.name for c in cur.description or ()]
            return [dict(zip(names, r, strict=True)) for r in cur]

        out: list[dict[str, Any]] = self._run(read)
        return out

    # --- writes -----------------------------------------------------------------------------------------------

    def insert_alert(self, row: dict[str, Any]) -> int | None:
        """Insert one alert; idempotent by ``dedup_key``. Returns the new id, or None if it was stored already."""

        def write(conn: psycopg.Connection) -> int | None:
            got = conn.execute(q.INSERT_ALERT, {**row, "evidence": Jsonb(row["evidence"])}).fetchone()
            return int(got[0]) if got else None

        new_id: int | None = self._run(write)
        return new_id

    def save_snapshots(self, snapshots: dict[str, dict[str, Any]], saved_at: datetime) -> None:
        """Upsert per-site routine snapshots in one transaction."""

        def write(conn: psycopg.Connection) -> None:
            with conn.cursor() as cur:
                cur.executemany(
                    q.UPSERT_SNAPSHOT, [(site, Jsonb(state), saved_at) for site, state in snapshots.items()]
                )

        self._run(write)

    def resolve(self, r: Resolution) -> int:
        """Close the open rows whose condition ended; for a long lie also mark the fall rows (kept open)."""

        def write(conn: psycopg.Connection) -> int:
            params = {"site_id": r.site_id, "type": r.type, "ts": r.ts, "reason": r.reason,
                      "resident_id": r.resident_id, "device_id": r.device_id}  # fmt: skip
            if r.type == "long_lie":
                params["device_id"] = None  # a long lie is a person's, whichever device saw it
            n = conn.execute(q.RESOLVE, params).rowcount
            if r.type == "long_lie":
                conn.execute(q.FALL_CONDITION_ENDED, params)
            return n

        n: int = self._run(write)
        return n


def utcnow() -> datetime:
    return datetime.now(UTC)
