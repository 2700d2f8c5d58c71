"""The batch writer against a real database: fast path, duplicate path, poison rows, device state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg

from ingest.pipeline import Accepted, DeviceInfo, Limits, process
from ingest.writer import BatchWriter
from tests.helpers import load_small_registry

NOW = datetime.now(UTC).replace(microsecond=0)
LIMITS = Limits(256 * 1024, timedelta(minutes=5), timedelta(days=40))
DEVICES = {"pir-1": DeviceInfo("pir", "home-t1"), "radar-1": DeviceInfo("radar", "home-t1")}


def _msg(dev: str, channel: str, body: dict[str, object], at: datetime = NOW) -> Accepted:
    full = {"v": 1, "ts": int(at.timestamp() * 1000), **body}
    out = process(f"eldercare/v1/dev/{dev}/{channel}", json.dumps(full).encode(), NOW, DEVICES, LIMITS)
    assert isinstance(out, Accepted), out
    return out


def test_fast_path_duplicates_and_escaping(fresh_db: str) -> None:
    load_small_registry(fresh_db)
    w = BatchWriter(fresh_db)
    status = _msg("pir-1", "status", {"id": "s1", "kind": "status", "state": "online", "firmware": "v1\\b\t2"[:4]})
    batch = [_msg("pir-1", "telemetry", {"id": f"m{i}", "kind": "motion", "motion": True}) for i in range(50)]
    fall = _msg("radar-1", "event", {"id": "f1", "kind": "fall", "confidence": 0.9})
    res = w.write([*batch, batch[0], status, fall], [])
    assert res.stored == 52 and len(res.duplicates) == 1  # the in-batch copy
    # A redelivery of something already stored goes through the staging path and is reported as duplicate.
    res2 = w.write([batch[3], _msg("pir-1", "telemetry", {"id": "new", "kind": "motion", "motion": False})], [])
    assert res2.stored == 1 and [d.msg_id for d in res2.duplicates] == ["m3"]
    w.close()
    with psycopg.connect(fresh_db) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM telemetry), (SELECT count(*) FROM events), "
            "(SELECT count(*) FROM device_status), (SELECT count(*) FROM rejects WHERE reason = 'duplicate')"
        ).fetchone()
        fw = conn.execute("SELECT data->>'firmware' FROM device_status").fetchone()
        state = conn.execute("SELECT online, firmware FROM device_state WHERE device_id = 'pir-1'").fetchone()
    assert counts == (51, 1, 1, 2)
    assert fw == ("v1\\b",) and state == (True, "v1\\b")


def test_rows_the_database_refuses_become_storage_error_rejects(fresh_db: str) -> None:
    good = _msg("pir-1", "telemetry", {"id": "ok-1", "kind": "motion", "motion": True})
    # jsonb cannot hold \u0000; the contract's patterns keep it out, so forge such a row to prove the safety net.
    poison = Accepted(
        **{**{f: getattr(good, f) for f in good.__slots__}, "msg_id": "bad-1", "data": '{"x": "\\u0000"}'}
    )
    w = BatchWriter(fresh_db)
    res = w.write([good, poison], [])
    w.close()
    assert res.stored == 1 and [r.reason for r in res.storage_errors] == ["storage_error"]
    with psycopg.connect(fresh_db) as conn:
        rej = conn.execute("SELECT msg_id, reason, detail FROM rejects").fetchall()
        assert conn.execute("SELECT msg_id FROM telemetry").fetchall() == [("ok-1",)]
    assert rej[0][:2] == ("bad-1", "storage_error") and "unicode" in rej[0][2].lower()
