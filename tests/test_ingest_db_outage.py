"""The database goes away mid-stream: ingest stops acknowledging, keeps the broker holding messages, retries,
and once the database is back every message is stored exactly once (a private PostgreSQL we can stop)."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from common.localservices import start_postgres
from common.migrate import migrate
from ingest.service import IngestService
from tests.helpers import load_small_registry, wait_for
from tests.plugins.ingestproc import Publisher

N = 6000


def test_database_outage_loses_nothing(broker, settings_for, topic_prefix: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="eldercare-pg-"))
    root.chmod(0o755)  # the server runs as user postgres
    pg = start_postgres(root / "data")
    try:
        migrate(pg.url)
        load_small_registry(pg.url, extra_devices=5)
        service = IngestService(settings_for(pg.url, ingest_batch_max=200))
        service.start()
        pub = Publisher(broker.host, broker.port, f"pub-{uuid.uuid4().hex[:6]}")
        base = int(datetime.now(UTC).timestamp() * 1000)

        def stream() -> None:
            for n in range(N):
                body = {"v": 1, "id": f"o{n}", "ts": base + n, "kind": "motion", "motion": True}
                pub.publish(n, f"{topic_prefix}/eldercare/v1/dev/pir-x{n % 5}/telemetry", json.dumps(body).encode())
                time.sleep(0.0008)

        t = threading.Thread(target=stream)
        t.start()
        try:
            wait_for(lambda: service.stats.stored > N // 5, 60, 0.01, "first messages stored")
            pg.stop()  # the database disappears mid-stream
            acked_at_outage = service.stats.acked
            time.sleep(3)
            assert service.stats.db_retries > 0, "the writer did not notice the outage"
            assert service.stats.acked == acked_at_outage, "acknowledged while the database was down"
            pg = start_postgres(root / "data", port=pg.port)
            t.join(120)
            pub.wait_all_acked(N, 60)
            wait_for(lambda: service.stats.acked >= N, 120, 0.1, "all acknowledged after recovery")
        finally:
            pub.close()
            service.stop()
        with psycopg.connect(pg.url) as conn:
            stored = conn.execute("SELECT count(*), count(DISTINCT msg_id) FROM telemetry").fetchone()
        assert len(pub.acked) == N
        assert stored == (N, N)
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
