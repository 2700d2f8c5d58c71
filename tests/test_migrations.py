"""Migrations on TimescaleDB and on a bare PostgreSQL (the same files), idempotence, tamper detection."""

from __future__ import annotations

import psycopg
import pytest

from common.db import detect_capabilities
from common.maintenance import run_maintenance
from common.migrate import MigrationError, load_migrations, migrate


def _hypertables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        if not detect_capabilities(conn).timescaledb:
            return set()
        rows = conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()
    return {r[0] for r in rows}


def test_timescaledb_path(databases, timescaledb_available: bool) -> None:
    assert timescaledb_available, "TimescaleDB must be installed for the suite (scripts/setup-system.sh)"
    url = databases.new()
    assert {"telemetry", "events", "device_status"} <= _hypertables(url)
    assert migrate(url) == []  # idempotent
    with psycopg.connect(url) as conn:
        caps = detect_capabilities(conn)
        n = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert caps.timescaledb and n == (len(load_migrations()),)
    lines = run_maintenance(url)
    assert any("telemetry_hourly" in line or "licensed" in line for line in lines)


def test_plain_postgresql_path(databases) -> None:
    url = databases.new(timescaledb=False)
    with psycopg.connect(url) as conn:
        assert not detect_capabilities(conn).timescaledb
        conn.execute(
            "INSERT INTO telemetry (ts, device_id, msg_id, kind, received_at, data) VALUES "
            "(now() - interval '500 days', 'd', '1', 'motion', now(), '{}'), (now(), 'd', '2', 'motion', now(), '{}')"
        )
        conn.commit()
    assert _hypertables(url) == set()
    lines = run_maintenance(url, retention_days=400)
    assert "refreshed telemetry_hourly" in lines
    assert any("deleted 1 row" in line for line in lines)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM telemetry").fetchone() == (1,)
        assert conn.execute("SELECT sum(messages) FROM telemetry_hourly").fetchone() == (2,)


def test_changed_migration_is_refused(databases) -> None:
    url = databases.new()
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1")
        conn.commit()
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(url)
