"""Acceptance: a corpus of >= 30 kinds of bad input ends 100% in rejects with the right reason code, and the
ingest process stays up throughout (real broker, real database, real ``eldercare ingest`` process)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from tests.corpus import corpus, duplicate_pair
from tests.helpers import load_small_registry, scalar, wait_for
from tests.plugins.ingestproc import IngestProcess, Publisher


def test_bad_input_corpus_ends_in_rejects(fresh_db, settings_for, broker, topic_prefix, tmp_path: Path) -> None:
    load_small_registry(fresh_db)
    settings = settings_for(fresh_db)
    ingest = IngestProcess(settings, tmp_path / "ingest.log")
    ingest.start()
    pub = Publisher(broker.host, broker.port, f"pub-{uuid.uuid4().hex[:6]}")
    try:
        wait_for(lambda: "connected to" in ingest.log_text(), 20, what="ingest to connect")
        now = datetime.now(UTC)
        items = corpus(now)
        assert len(items) >= 30 and len({i.name for i in items}) == len(items)
        dup_topic, dup_payload = duplicate_pair(now)
        sends = [(f"{topic_prefix}/{i.topic}", i.payload) for i in items]
        sends += [(f"{topic_prefix}/{dup_topic}", dup_payload)] * 2
        for n, (topic, payload) in enumerate(sends):
            pub.publish(n, topic, payload)
            assert ingest.alive(), f"ingest died at {n}:\n{ingest.log_text()[-3000:]}"
        pub.wait_all_acked(len(sends))
        assert len(pub.acked) == len(sends)
        total = len(items) + 1  # every corpus item + the second copy of the duplicate
        wait_for(lambda: scalar(fresh_db, "SELECT count(*) FROM rejects") == total, 30, what="all rejects")
        assert ingest.alive(), ingest.log_text()[-3000:]

        with psycopg.connect(fresh_db) as conn:
            q = "SELECT topic, payload, reason, detail, payload_size, truncated FROM rejects"
            rows = conn.execute(q).fetchall()
        got = {(t, bytes(p[:4096])): (reason, detail, size, trunc) for t, p, reason, detail, size, trunc in rows}
        for item in items:
            key = (f"{topic_prefix}/{item.topic}", item.payload[:4096])
            assert key in got, f"{item.name} not in rejects"
            reason, detail, size, _ = got[key]
            assert reason == item.reason, f"{item.name}: expected {item.reason}, got {reason} ({detail})"
            assert size == len(item.payload) and detail
        dup_rows = [r for r in rows if r[2] == "duplicate"]
        assert len(dup_rows) == 1 and bytes(dup_rows[0][1]) == dup_payload
        # The first copy of the duplicate is stored, exactly once.
        assert scalar(fresh_db, "SELECT count(*) FROM telemetry WHERE msg_id = 'dup-1'") == 1

        # Still healthy: a good message after all that is stored.
        good = {"v": 1, "id": "after-1", "ts": int(now.timestamp() * 1000), "kind": "motion", "motion": True}
        pub.publish(len(sends), f"{topic_prefix}/eldercare/v1/dev/pir-1/telemetry", json.dumps(good).encode())
        wait_for(lambda: scalar(fresh_db, "SELECT count(*) FROM telemetry WHERE msg_id = 'after-1'") == 1, 20)
        assert ingest.alive()
    finally:
        pub.close()
        rc = ingest.stop()
    assert rc == 0, ingest.log_text()[-3000:]
