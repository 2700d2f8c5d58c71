"""Database connection helpers shared by every package (psycopg 3)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The platform database is unreachable or not in the expected state."""


def connect(url: str, *, autocommit: bool = False, application_name: str = "eldercare") -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=autocommit, application_name=application_name, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to {redact(url)}: {str(exc).strip()}") from exc


def redact(url: str) -> str:
    """Connection string without its password, for messages and logs."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparsable connection string>"
    if "password" in params:
        params["password"] = "***"
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def with_dbname(url: str, dbname: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist (connecting to ``postgres``). True if created."""
    dbname = str(conninfo_to_dict(url).get("dbname") or "postgres")
    with connect(with_dbname(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        log.info("created database %s", dbname)
        return True


def drop_database(url: str) -> None:
    dbname = str(conninfo_to_dict(url).get("dbname") or "")
    if not dbname or dbname in {"postgres", "template0", "template1"}:
        raise DatabaseError(f"refusing to drop database {dbname!r}")
    with connect(with_dbname(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


@dataclass(frozen=True)
class Capabilities:
    """What the server offers: drives which migration sections run (DESIGN.md section 4)."""

    timescaledb: bool
    version: str | None
    license: str | None

    @property
    def licensed(self) -> bool:
        """Continuous aggregates, compression and policy jobs need the Timescale licence (not Apache-only)."""
        return self.timescaledb and self.license == "timescale"

    def describe(self) -> str:
        if not self.timescaledb:
            return "PostgreSQL without TimescaleDB"
        return f"TimescaleDB {self.version} ({self.license} licence)"


def detect_capabilities(conn: psycopg.Connection) -> Capabilities:
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if row is None:
        return Capabilities(timescaledb=False, version=None, license=None)
    lic = conn.execute("SELECT current_setting('timescaledb.license', true)").fetchone()
    return Capabilities(timescaledb=True, version=row[0], license=(lic[0] if lic else None))
