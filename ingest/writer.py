"""Batch writer: one transaction per batch, COPY into a staging table, idempotent moves into the hypertables.

A batch either commits whole (and only then is it acknowledged to the broker) or not at all. Rows the database
refuses (a value jsonb cannot hold, say) are isolated row by row and kept as ``storage_error`` rejects, so a
single poison message never blocks the stream and never disappears.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ingest import queries as q
from ingest.pipeline import Accepted, DeviceInfo, Rejected

log = logging.getLogger(__name__)

REJECT_KEEP_BYTES = 1 << 20  # raw bytes kept per reject; larger payloads keep their first MiB (flagged)


class WriterUnavailable(RuntimeError):
    """The database cannot take writes right now (connection lost, server restarting)."""


@dataclass
class BatchResult:
    stored: int
    duplicates: list[Accepted]
    storage_errors: list[Rejected]
    rejects_written: int


def _reject_row(r: Rejected) -> tuple[object, ...]:
    payload = r.payload[:REJECT_KEEP_BYTES]
    return (
        r.received_at, r.topic.encode("utf-8", "replace").decode()[:1024], r.device_id, r.msg_id, r.reason,
        r.detail.replace("\x00", "\\0"), payload, len(r.payload), len(payload) < len(r.payload),
    )  # fmt: skip


def _copy_line(a: Accepted) -> str:
    """One row in COPY text format. Ids are restricted by the contract (no tab, newline or backslash); the
    JSON has its control characters escaped already, so only its backslashes need doubling."""
    data = a.data.replace("\\", "\\\\")
    return f"{a.ts.isoformat()}\t{a.device_id}\t{a.msg_id}\t{a.kind}\t{a.received_at.isoformat()}\t{data}\n"


def _stage_row(a: Accepted) -> tuple[object, ...]:
    return (q.TABLE_CODES[a.table], a.ts, a.device_id, a.msg_id, a.kind, a.received_at, a.data)


class BatchWriter:
    """Owns one connection; not thread-safe (one writer thread)."""

    def __init__(self, url: str, *, application_name: str = "eldercare-ingest") -> None:
        self._url = url
        self._app = application_name
        self._conn: psycopg.Connection | None = None

    # -- connection management --------------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                conn = psycopg.connect(self._url, application_name=self._app, connect_timeout=10)
                conn.execute(q.CREATE_STAGE)
                conn.execute("SET synchronous_commit = on")
                conn.commit()
            except psycopg.OperationalError as exc:
                raise WriterUnavailable(str(exc).strip()) from exc
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def load_devices(self) -> dict[str, DeviceInfo]:
        try:
            conn = self._connection()
            rows = conn.execute(q.DEVICE_INDEX).fetchall()
            conn.commit()
        except psycopg.OperationalError as exc:
            self.close()
            raise WriterUnavailable(str(exc).strip()) from exc
        return {r[0]: DeviceInfo(r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows}

    # -- writing ---------------------------------------------------------------------------------------------
    def write(
        self,
        accepted: Sequence[Accepted],
        rejected: Sequence[Rejected],
        last_seen: dict[str, datetime] | None = None,
    ) -> BatchResult:
        """Commit one batch. Raises :class:`WriterUnavailable` when it must be retried later (nothing written)."""
        try:
            return self._write_batch(accepted, rejected, last_seen)
        except psycopg.OperationalError as exc:
            self.close()
            raise WriterUnavailable(str(exc).strip()) from exc
        except psycopg.Error as exc:
            # Data the server refuses (e.g. \u0000 in jsonb): find the culprits one by one.
            log.warning("batch of %d refused (%s); isolating rows", len(accepted), str(exc).strip()[:200])
            self._rollback()
            try:
                return self._write_rowwise(accepted, rejected, last_seen)
            except psycopg.OperationalError as exc2:
                self.close()
                raise WriterUnavailable(str(exc2).strip()) from exc2

    def _rollback(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.rollback()
            except psycopg.OperationalError:
                self.close()

    def _write_batch(
        self, accepted: Sequence[Accepted], rejected: Sequence[Rejected], last_seen: dict[str, datetime] | None
    ) -> BatchResult:
        conn = self._connection()
        # Same key twice inside one batch: the second is a duplicate before the database even sees it.
        unique: dict[tuple[str, str, datetime], Accepted] = {}
        dups: list[Accepted] = []
        for a in accepted:
            if a.key in unique:
                dups.append(a)
            else:
                unique[a.key] = a
        stored = 0
        with conn.cursor() as cur:
            if unique:
                try:
                    stored = self._copy_direct(cur, list(unique.values()))
                except psycopg.errors.UniqueViolation:
                    # Something in the batch is already stored (a redelivery after a crash, a replay): take the
                    # slower staging path that tells exactly which ones.
                    conn.rollback()
                    stored = self._insert_via_stage(cur, unique, dups)
                self._status_updates(cur, [a for a in unique.values() if a.table == "device_status"])
            all_rejects = list(rejected) + [_duplicate(a) for a in dups]
            if all_rejects:
                with cur.copy(q.COPY_REJECTS) as copy:
                    for r in all_rejects:
                        copy.write_row(_reject_row(r))
            if last_seen:
                ids = list(last_seen)
                cur.execute(q.UPSERT_LAST_SEEN, (ids, [last_seen[i] for i in ids]))
        conn.commit()
        return BatchResult(stored, dups, [], len(all_rejects))

    @staticmethod
    def _copy_direct(cur: psycopg.Cursor, rows: list[Accepted]) -> int:
        by_table: dict[str, list[str]] = {}
        for a in rows:
            by_table.setdefault(a.table, []).append(_copy_line(a))
        for table, lines in by_table.items():
            with cur.copy(q.copy_into(table)) as copy:
                copy.write("".join(lines))
        return len(rows)

    @staticmethod
    def _insert_via_stage(
        cur: psycopg.Cursor, unique: dict[tuple[str, str, datetime], Accepted], dups: list[Accepted]
    ) -> int:
        stored = 0
        with cur.copy(q.COPY_STAGE) as copy:
            for a in unique.values():
                copy.write_row(_stage_row(a))
        for table in sorted({a.table for a in unique.values()}):
            cur.execute(q.insert_from_stage(table))
            fresh = {(d, m, t) for d, m, t in cur.fetchall()}
            stored += len(fresh)
            dups.extend(a for a in unique.values() if a.table == table and a.key not in fresh)
        return stored

    def _status_updates(self, cur: psycopg.Cursor, rows: list[Accepted]) -> None:
        for a in sorted(rows, key=lambda r: r.received_at):
            m = a.message
            cur.execute(
                q.UPSERT_STATUS,
                (
                    a.device_id, m.state == "online", a.received_at, m.battery, m.signal, m.firmware,  # type: ignore[attr-defined]
                ),
            )  # fmt: skip

    def _write_rowwise(
        self, accepted: Sequence[Accepted], rejected: Sequence[Rejected], last_seen: dict[str, datetime] | None
    ) -> BatchResult:
        conn = self._connection()
        stored = 0
        dups: list[Accepted] = []
        errors: list[Rejected] = []
        seen: set[tuple[str, str, datetime]] = set()
        with conn.cursor() as cur:
            for a in accepted:
                if a.key in seen:
                    dups.append(a)
                    continue
                seen.add(a.key)
                try:
                    with conn.transaction():
                        cur.execute(q.insert_one(a.table), _stage_row(a)[1:])
                        if cur.rowcount == 1:
                            stored += 1
                            if a.table == "device_status":
                                self._status_updates(cur, [a])
                        else:
                            dups.append(a)
                except psycopg.OperationalError:
                    raise
                except psycopg.Error as exc:
                    errors.append(_as_reject(a, "storage_error", str(exc).strip()[:500]))
            all_rejects = list(rejected) + [_duplicate(a) for a in dups] + errors
            for r in all_rejects:
                cur.execute(q.INSERT_REJECT, _reject_row(r))
            if last_seen:
                ids = list(last_seen)
                cur.execute(q.UPSERT_LAST_SEEN, (ids, [last_seen[i] for i in ids]))
        conn.commit()
        return BatchResult(stored, dups, errors, len(all_rejects))


def _as_reject(a: Accepted, reason: str, detail: str) -> Rejected:
    return Rejected(a.topic, a.raw, a.received_at, reason, detail, a.device_id, a.msg_id)


def _duplicate(a: Accepted) -> Rejected:
    return _as_reject(a, "duplicate", f"message {a.msg_id!r} at {a.ts.isoformat()} is already stored")
