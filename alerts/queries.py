"""SQL of the alerts package (STYLE habit 9): every statement here, values always as parameters."""

from __future__ import annotations

from psycopg import sql

# --- registry context ---------------------------------------------------------------------------------------

SITES = "SELECT id, kind, timezone, family_bed FROM site"
ROOMS = "SELECT id, site_id, kind FROM room"
ZONES = "SELECT id, site_id, secure, is_exit FROM zone"
BEDS = "SELECT id, room_id FROM bed WHERE room_id IS NOT NULL"
RESIDENTS = """
SELECT id, site_id, lives_alone, empty_nest, dementia, fall_risk, ble_tag, bed_id, room_id, bed_exit_minutes
FROM resident WHERE active
"""
DEVICES = """
SELECT id, kind, site_id, room_id, bed_id, resident_id, zone_id, safety_critical, heartbeat_s, created_at
FROM device WHERE active
"""

# --- start-up state -----------------------------------------------------------------------------------------

DEVICE_STATE = "SELECT device_id, last_seen, online FROM device_state"

# device_state.last_seen is flushed by ingest every few seconds; the raw tables are committed per batch, so the
# newest receive time there closes that gap (bounded by ts, which the hypertables are partitioned and indexed on).
RECENT_SEEN = """
SELECT device_id, max(received_at) FROM (
    SELECT device_id, received_at FROM telemetry WHERE ts >= %(since)s
    UNION ALL SELECT device_id, received_at FROM events WHERE ts >= %(since)s
    UNION ALL SELECT device_id, received_at FROM device_status WHERE ts >= %(since)s
) AS recent
GROUP BY device_id
"""

# Sensor history of one site for the routine monitors, oldest first (the natural-key index leads with device_id).
SITE_HISTORY = """
SELECT ts, device_id, kind, received_at, data
FROM telemetry
WHERE device_id = ANY(%(devices)s) AND ts >= %(since)s AND ts <= %(until)s AND kind = ANY(%(kinds)s)
ORDER BY ts, device_id, msg_id
"""

# Recent alerts (cooldowns, replay de-duplication) and every alert still open whose condition we track.
RECENT_ALERTS = """
SELECT site_id, type, ts, status, resident_id, device_id, stage, evidence, resolved_at IS NOT NULL
FROM alert
WHERE ts >= %(since)s OR (status = 'open' AND type IN ('device_silent', 'long_lie'))
"""

SNAPSHOTS = "SELECT site_id, state, saved_at FROM detector_state"

UPSERT_SNAPSHOT = """
INSERT INTO detector_state (site_id, state, saved_at) VALUES (%s, %s, %s)
ON CONFLICT (site_id) DO UPDATE SET state = EXCLUDED.state, saved_at = EXCLUDED.saved_at
"""

# --- alert rows ---------------------------------------------------------------------------------------------

INSERT_ALERT = """
INSERT INTO alert (dedup_key, site_id, resident_id, device_id, type, severity, status, ts, raised_at, stage,
                   explanation_zh, explanation_en, evidence)
VALUES (%(dedup_key)s, %(site_id)s, %(resident_id)s, %(device_id)s, %(type)s, %(severity)s, 'open', %(ts)s,
        %(raised_at)s, %(stage)s, %(explanation_zh)s, %(explanation_en)s, %(evidence)s)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
"""

# The condition ended (device back, person up): close the open rows of that key.
RESOLVE = """
UPDATE alert
SET status = 'resolved', resolved_at = %(ts)s, resolution = %(reason)s, updated_at = now()
WHERE status = 'open' AND site_id = %(site_id)s AND type = %(type)s AND ts <= %(ts)s
  AND (%(device_id)s::text IS NULL OR device_id = %(device_id)s)
  AND resident_id IS NOT DISTINCT FROM %(resident_id)s
"""

# A fall row stays open for a carer to acknowledge even when the person got up; record that the long lie ended.
FALL_CONDITION_ENDED = """
UPDATE alert
SET resolved_at = %(ts)s, resolution = %(reason)s, updated_at = now()
WHERE status = 'open' AND type = 'fall' AND resolved_at IS NULL AND site_id = %(site_id)s
  AND resident_id IS NOT DISTINCT FROM %(resident_id)s AND ts <= %(ts)s
"""


def list_alerts(site: bool, since: bool) -> sql.Composed:
    """Recent alerts, newest first, optionally filtered by site and start time."""
    where = [sql.SQL("TRUE")]
    if site:
        where.append(sql.SQL("site_id = %(site)s"))
    if since:
        where.append(sql.SQL("ts >= %(since)s"))
    return sql.SQL(
        "SELECT id, dedup_key, site_id, resident_id, device_id, type, severity, status, ts, raised_at, stage, "
        "explanation_zh, explanation_en, evidence FROM alert WHERE {} ORDER BY ts DESC, id DESC LIMIT %(limit)s"
    ).format(sql.SQL(" AND ").join(where))
