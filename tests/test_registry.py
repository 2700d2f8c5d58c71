from __future__ import annotations

import psycopg
import pytest

from common.db import connect
from devices.credentials import verify_password
from devices.registry import RegistryError, load_registry, parse_registry
from tests.helpers import SMALL_REGISTRY

AREAS = """
areas:
  - {id: c01, name: 东山社区, level: community, parent: t01}
  - {id: hn, name: 海宁市, name_en: Haining, level: city}
  - {id: t01, name: 硖石街道, level: town, parent: hn}
"""


def _snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    with psycopg.connect(url) as conn:
        for table in ("admin_area", "site", "room", "bed", "resident", "contact", "device"):
            cols = "*" if table not in {"site", "resident", "device"} else "id"
            out[table] = conn.execute(f"SELECT {cols} FROM {table} ORDER BY 1").fetchall()
        out["updated"] = conn.execute("SELECT max(updated_at) FROM site").fetchall()
    return out


def test_load_is_idempotent_and_complete(fresh_db: str) -> None:
    text = AREAS + SMALL_REGISTRY.replace("sites:\n", "sites:\n", 1).replace(
        "    family_bed: true", "    family_bed: true\n    community: c01"
    )
    reg = parse_registry(text)
    with connect(fresh_db) as conn:
        first = load_registry(conn, reg)
    before = _snapshot(fresh_db)
    with connect(fresh_db) as conn:
        second = load_registry(conn, reg)
    assert first == second
    assert first["devices"] == 5 and first["areas"] == 3 and first["contacts"] == 1
    assert _snapshot(fresh_db) == before  # nothing changed, not even updated_at of the site
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute(
            "SELECT r.lives_alone, r.fall_risk, r.key_elder, b.bed_type, s.community_id FROM resident r "
            "JOIN bed b ON b.id = r.bed_id JOIN site s ON s.id = r.site_id"
        ).fetchone()
    assert row == (True, "high", ["living_alone", "very_old"], "nursing", "c01")


def test_bed_exit_minutes_reaches_the_detection_context(fresh_db: str) -> None:
    """A resident's own night bed-exit delay goes from the registry file to the alerts package's registry."""
    from alerts.store import AlertStore

    text = SMALL_REGISTRY.replace("fall_risk: high", "fall_risk: high\n        bed_exit_minutes: 7.5")
    assert text != SMALL_REGISTRY
    with connect(fresh_db) as conn:
        load_registry(conn, parse_registry(text))
    store = AlertStore(fresh_db)
    try:
        residents = store.load_registry().residents
    finally:
        store.close()
    assert [r.bed_exit_minutes for r in residents.values()] == [7.5]
    with pytest.raises(RegistryError, match="bed_exit_minutes"):
        parse_registry(SMALL_REGISTRY.replace("fall_risk: high", "fall_risk: high\n        bed_exit_minutes: 0"))


def test_device_password_is_stored_as_mosquitto_hash(fresh_db: str) -> None:
    text = SMALL_REGISTRY.replace("{id: pir-1, kind: pir,", "{id: pir-1, kind: pir, password: s3cr3t-pw,")
    with connect(fresh_db) as conn:
        load_registry(conn, parse_registry(text))
        (encoded,) = conn.execute("SELECT password_hash FROM device WHERE id = 'pir-1'").fetchone()  # type: ignore[misc]
    assert encoded.startswith("$7$") and "s3cr3t" not in encoded
    assert verify_password("s3cr3t-pw", encoded) and not verify_password("wrong", encoded)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("sites: [{id: s, kind: home, name: x, devices: [{id: d1, kind: toaster}]}]", "unknown device kind"),
        ("sites: [{id: s, kind: home, name: x, devices: [{id: d1, kind: pir, room: nowhere}]}]", "unknown room"),
        ("sites: [{id: s, kind: castle, name: x}]", "kind"),
        ("sites: [{id: s, kind: home, name: x, devices: [{id: 'bad id', kind: pir}]}]", "pattern"),
        ("sites: [{id: s, kind: home, name: x}, {id: s, kind: home, name: y}]", "duplicate ids"),
        ("[1, 2]", "top level"),
        ("sites: [{id: s, kind: home, name: x", "not valid YAML"),
    ],
)
def test_bad_registry_files_fail_before_writing(text: str, needle: str) -> None:
    with pytest.raises(RegistryError, match=needle):
        parse_registry(text)
