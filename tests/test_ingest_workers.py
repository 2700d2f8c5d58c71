"""Several ingest worker processes split the stream (shared subscription) while detection, in its own process on
its own subscription, still sees every message: `eldercare ingest --workers 2` end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from tests.helpers import load_small_registry, scalar, wait_for
from tests.plugins.ingestproc import Publisher, settings_env

REPO = Path(__file__).resolve().parents[1]


def test_two_workers_and_a_detection_process(fresh_db, settings_for, broker, topic_prefix, tmp_path: Path) -> None:
    load_small_registry(fresh_db, extra_devices=8)
    settings = settings_for(fresh_db, ingest_share_group=f"g{uuid.uuid4().hex[:6]}")
    log = (tmp_path / "ingest.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "common.cli", "ingest", "--no-migrate", "--workers", "2"],
        env=settings_env(settings), stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
    )  # fmt: skip
    pub = Publisher(broker.host, broker.port, f"pub-{uuid.uuid4().hex[:6]}")
    try:
        # Both workers and the detection feed hold an MQTT session before we publish.
        def sessions() -> int:
            text = broker.log_path.read_text(errors="replace") if broker.log_path.exists() else ""
            return sum(1 for cid in (f"{settings.ingest_client_id}-0", f"{settings.ingest_client_id}-1",
                                     f"{settings.ingest_client_id}-detect-feed") if f" as {cid} " in text)  # fmt: skip

        wait_for(lambda: sessions() == 3, 60, 0.2, "two ingest workers and the detection feed connected")
        now = int(datetime.now(UTC).timestamp() * 1000)
        n = 2000
        for i in range(n):
            body = {"v": 1, "id": f"w{i}", "ts": now + i, "kind": "motion", "motion": True}
            pub.publish(i, f"{topic_prefix}/eldercare/v1/dev/pir-x{i % 8}/telemetry", json.dumps(body).encode())
        fall = {"v": 1, "id": "fall-1", "ts": now + n, "kind": "fall", "confidence": 0.95, "on_floor": True}
        pub.publish(n, f"{topic_prefix}/eldercare/v1/dev/radar-1/event", json.dumps(fall).encode())
        pub.wait_all_acked(n + 1, 30)
        wait_for(lambda: scalar(fresh_db, "SELECT count(*) FROM telemetry") == n, 60, 0.2, "all stored")
        wait_for(lambda: scalar(fresh_db, "SELECT count(*) FROM alert WHERE type = 'fall'") == 1, 60, 0.2, "fall alert")
        with psycopg.connect(fresh_db) as conn:
            apps = conn.execute(
                "SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE application_name = 'eldercare-ingest' "
                "AND datname = current_database()"
            ).fetchone()
        assert apps == (2,)
    finally:
        pub.close()
        os.killpg(proc.pid, signal.SIGTERM)
        rc = proc.wait(60)
        log.close()
    assert rc == 0, (tmp_path / "ingest.log").read_text()[-3000:]
