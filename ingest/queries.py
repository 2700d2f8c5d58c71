"""SQL of the batch writer. Values always travel as parameters or through COPY, never in the SQL text."""

from __future__ import annotations

from psycopg import sql

STAGE_TABLE = "ingest_stage"

CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    tbl          "char"      NOT NULL,
    ts           timestamptz NOT NULL,
    device_id    text        NOT NULL,
    msg_id       text        NOT NULL,
    kind         text        NOT NULL,
    received_at  timestamptz NOT NULL,
    data         jsonb       NOT NULL
) ON COMMIT DELETE ROWS
"""

COPY_STAGE = "COPY ingest_stage (tbl, ts, device_id, msg_id, kind, received_at, data) FROM STDIN"

# One code per target table in the stage ("char" keeps the stage row narrow).
TABLE_CODES = {"telemetry": "t", "events": "e", "device_status": "s"}


def insert_from_stage(table: str) -> sql.Composed:
    """Move staged rows of one table into it; RETURNING tells which were new (the rest are duplicates)."""
    return sql.SQL(
        "INSERT INTO {tbl} (ts, device_id, msg_id, kind, received_at, data) "
        "SELECT ts, device_id, msg_id, kind, received_at, data FROM ingest_stage WHERE tbl = {code} "
        "ON CONFLICT DO NOTHING RETURNING device_id, msg_id, ts"
    ).format(tbl=sql.Identifier(table), code=sql.Literal(TABLE_CODES[table]))


def copy_into(table: str) -> sql.Composed:
    """Direct COPY into a raw table: the fast path when the batch holds no already-stored message."""
    return sql.SQL("COPY {tbl} (ts, device_id, msg_id, kind, received_at, data) FROM STDIN").format(
        tbl=sql.Identifier(table)
    )


def insert_one(table: str) -> sql.Composed:
    return sql.SQL(
        "INSERT INTO {tbl} (ts, device_id, msg_id, kind, received_at, data) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING"
    ).format(tbl=sql.Identifier(table))


COPY_REJECTS = (
    "COPY rejects (received_at, topic, device_id, msg_id, reason, detail, payload, payload_size, truncated) FROM STDIN"
)

INSERT_REJECT = (
    "INSERT INTO rejects (received_at, topic, device_id, msg_id, reason, detail, payload, payload_size, truncated) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)

UPSERT_LAST_SEEN = """
INSERT INTO device_state (device_id, last_seen, updated_at)
SELECT d, s, now() FROM unnest(%s::text[], %s::timestamptz[]) AS u(d, s)
WHERE EXISTS (SELECT 1 FROM device WHERE device.id = u.d)
ON CONFLICT (device_id) DO UPDATE
SET last_seen = GREATEST(device_state.last_seen, EXCLUDED.last_seen), updated_at = now()
"""

# Online/offline follows the broker's order (receive time): a last will's own ts is its connect time.
UPSERT_STATUS = """
INSERT INTO device_state (device_id, online, state_ts, battery, signal, firmware, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, now())
ON CONFLICT (device_id) DO UPDATE
SET online = EXCLUDED.online, state_ts = EXCLUDED.state_ts,
    battery = COALESCE(EXCLUDED.battery, device_state.battery),
    signal = COALESCE(EXCLUDED.signal, device_state.signal),
    firmware = COALESCE(EXCLUDED.firmware, device_state.firmware), updated_at = now()
WHERE device_state.state_ts IS NULL OR device_state.state_ts <= EXCLUDED.state_ts
"""

DEVICE_INDEX = "SELECT id, kind, site_id, resident_id, room_id, bed_id, zone_id, active FROM device"
