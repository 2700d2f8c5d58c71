"""Real services for tests: a private Mosquitto per session and a fresh PostgreSQL database per use.

Nothing is faked and nothing is skipped: when PostgreSQL is unreachable the run fails loudly with how to fix
it (``scripts/ensure-services.sh`` or ``./dev test`` starts it). Each run uses its own database names and topic
prefix so parallel or repeated runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from common.db import drop_database, with_dbname
from common.localservices import Mosquitto, start_mosquitto
from common.migrate import migrate
from common.settings import Settings

ADMIN_URL = os.environ.get("ELDERCARE_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RUN_ID = uuid.uuid4().hex[:8]
REPO = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """The development datasets (../shared/data); their absence is an error, not a reason to skip."""
    path = Path(os.environ.get("ELDERCARE_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (path / "README.md").exists():
        raise FileNotFoundError(f"shared datasets not found at {path}; set ELDERCARE_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}\nStart it with scripts/ensure-services.sh "
            "(or run the suite through ./dev test, which does).",
            pytrace=False,
        )
    return ADMIN_URL


class DatabaseFactory:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []

    def new(self, *, timescaledb: bool = True, migrated: bool = True) -> str:
        name = f"ec_test_{RUN_ID}_{len(self.created)}_{uuid.uuid4().hex[:4]}"
        url = with_dbname(self.admin_url, name)
        self.created.append(url)
        if migrated:
            migrate(url, use_timescaledb=timescaledb)
        else:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        return url

    def cleanup(self) -> None:
        for url in self.created:
            drop_database(url)


@pytest.fixture(scope="session")
def databases(pg_admin_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(pg_admin_url)
    yield factory
    factory.cleanup()


@pytest.fixture(scope="session")
def timescaledb_available(pg_admin_url: str) -> bool:
    with psycopg.connect(pg_admin_url) as conn:
        row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
        preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    return bool(row) and bool(preload) and "timescaledb" in preload[0]


@pytest.fixture(scope="session")
def session_db(databases: DatabaseFactory) -> str:
    """One migrated database (TimescaleDB where available) shared by tests that only add their own rows."""
    return databases.new()


@pytest.fixture
def fresh_db(databases: DatabaseFactory) -> str:
    return databases.new()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    b = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield b
    b.stop()


@pytest.fixture
def topic_prefix() -> str:
    return f"test/{RUN_ID}/{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings_for(broker: Mosquitto, topic_prefix: str):  # type: ignore[no-untyped-def]
    """Build Settings pointing at the test broker, a given database and this test's topic prefix."""

    def make(database_url: str, **overrides: object) -> Settings:
        base: dict[str, object] = {
            "database_url": database_url,
            "mqtt_host": broker.host,
            "mqtt_port": broker.port,
            "topic_prefix": topic_prefix,
            "ingest_client_id": f"ingest-{uuid.uuid4().hex[:8]}",
            "ingest_metrics_interval_s": 1.0,
        }
        base.update(overrides)
        return Settings(**base)  # type: ignore[arg-type]

    return make
