"""Ordered, idempotent, checksummed SQL migrations (``eldercare db migrate``).

Migrations are frozen files ``common/migrations/NNNN_name.sql``; once applied, a file must never change (its
checksum is recorded and verified). Sections fenced by ``-- @if timescaledb`` / ``-- @if not timescaledb`` /
``-- @if licensed`` / ``-- @if not licensed`` ... ``-- @end`` run only where the server has that capability,
so one migration history serves licensed TimescaleDB, the Apache edition and a bare PostgreSQL; each skipped
section is logged.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from common.db import Capabilities, DatabaseError, connect, detect_capabilities, ensure_database

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_IF_RE = re.compile(r"^--\s*@if\s+(not\s+)?(timescaledb|licensed)\s*$")
_END_RE = re.compile(r"^--\s*@end\s*$")
_LOCK_KEY = 0x656C6465  # "elde": serialises concurrent migrate calls (several workers starting at once)


class MigrationError(DatabaseError):
    """A migration file is malformed, was changed after being applied, or failed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def render(self, caps: Capabilities) -> tuple[str, list[str]]:
        """SQL to run on a server with ``caps``, and descriptions of the sections skipped."""
        out: list[str] = []
        skipped: list[str] = []
        cond: tuple[bool, str] | None = None
        for lineno, line in enumerate(self.text.splitlines(), 1):
            m = _IF_RE.match(line.strip())
            if m:
                if cond is not None:
                    raise MigrationError(f"{self.filename}:{lineno}: nested @if")
                negate, what = bool(m.group(1)), m.group(2)
                have = caps.timescaledb if what == "timescaledb" else caps.licensed
                cond = (have != negate, f"{'not ' if negate else ''}{what}")
                if not cond[0]:
                    skipped.append(f"{self.filename}:{lineno} (@if {cond[1]})")
                continue
            if _END_RE.match(line.strip()):
                if cond is None:
                    raise MigrationError(f"{self.filename}:{lineno}: @end without @if")
                cond = None
                continue
            if cond is None or cond[0]:
                out.append(line)
        if cond is not None:
            raise MigrationError(f"{self.filename}: unterminated @if")
        return "\n".join(out), skipped

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def load_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("common.migrations").iterdir():
        m = _NAME_RE.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda x: x.version)
    versions = [x.version for x in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions: {versions}")
    return found


def ensure_extension(conn: psycopg.Connection) -> None:
    """Create the timescaledb extension where the server can load it; otherwise say why we go without."""
    available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    if not available:
        log.warning("TimescaleDB is not installed on this server: running on plain PostgreSQL tables")
        return
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    if preload is None or "timescaledb" not in preload[0]:
        log.warning("TimescaleDB is installed but not in shared_preload_libraries: running without it")
        return
    conn.execute("SET client_min_messages = warning")
    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")


def migrate(url: str, *, create_database: bool = True, use_timescaledb: bool = True) -> list[str]:
    """Apply pending migrations; return the file names applied. Safe to run concurrently and repeatedly."""
    if create_database:
        ensure_database(url)
    applied_now: list[str] = []
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {v: (n, c) for v, n, c in conn.execute("SELECT version, name, checksum FROM schema_migrations")}
            if use_timescaledb and not done:
                ensure_extension(conn)
            caps = detect_capabilities(conn)
            log.info("database: %s", caps.describe())
            for mig in load_migrations():
                if mig.version in done:
                    if done[mig.version][1] != mig.checksum:
                        raise MigrationError(
                            f"{mig.filename} was changed after it was applied (checksum mismatch); "
                            "write a new migration instead"
                        )
                    continue
                text, skipped = mig.render(caps)
                for s in skipped:
                    log.info("skipped section %s: not available on %s", s, caps.describe())
                try:
                    with conn.transaction():
                        conn.execute(text.encode())
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                            (mig.version, mig.name, mig.checksum),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"{mig.filename} failed: {str(exc).strip()}") from exc
                log.info("applied %s", mig.filename)
                applied_now.append(mig.filename)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
