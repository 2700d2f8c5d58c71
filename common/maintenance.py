"""The platform's own scheduler jobs for servers without Timescale-licensed policies (DESIGN.md section 4):
refresh the hourly rollup and drop raw data past retention (``drop_chunks`` on hypertables, DELETE otherwise).
"""

from __future__ import annotations

from psycopg import sql

from common.db import connect, detect_capabilities

RAW_TABLES = ("telemetry", "events", "device_status")


def run_maintenance(url: str, *, retention_days: int = 400) -> list[str]:
    out: list[str] = []
    with connect(url, autocommit=True) as conn:
        caps = detect_capabilities(conn)
        if caps.licensed:
            out.append("licensed TimescaleDB: continuous aggregate and retention policies run in the server")
            return out
        populated = conn.execute(
            "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'telemetry_hourly'"
        ).fetchone()
        if populated and populated[0]:
            conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY telemetry_hourly")
        else:
            conn.execute("REFRESH MATERIALIZED VIEW telemetry_hourly")
        out.append("refreshed telemetry_hourly")
        for table in RAW_TABLES:
            if caps.timescaledb:
                rows = conn.execute(
                    "SELECT count(*) FROM drop_chunks(%s::regclass, older_than => now() - make_interval(days => %s))",
                    (table, retention_days),
                ).fetchone()
                out.append(f"{table}: dropped {rows[0] if rows else 0} chunk(s) older than {retention_days} days")
            else:
                cur = conn.execute(
                    sql.SQL("DELETE FROM {} WHERE ts < now() - make_interval(days => %s)").format(
                        sql.Identifier(table)
                    ),
                    (retention_days,),
                )
                out.append(f"{table}: deleted {cur.rowcount} row(s) older than {retention_days} days")
    return out
