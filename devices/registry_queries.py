"""SQL of the registry: upserts used by the importer, lookups used by ingest and detection."""

from __future__ import annotations

UPSERT_AREA = """
INSERT INTO admin_area (id, name, name_en, level, parent_id) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, name_en = EXCLUDED.name_en, level = EXCLUDED.level,
    parent_id = EXCLUDED.parent_id
"""

UPSERT_SITE = """
INSERT INTO site (id, kind, name, name_en, community_id, address, family_bed, floors, timezone)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, name_en = EXCLUDED.name_en,
    community_id = EXCLUDED.community_id, address = EXCLUDED.address, family_bed = EXCLUDED.family_bed,
    floors = EXCLUDED.floors, timezone = EXCLUDED.timezone, updated_at = now()
WHERE (site.kind, site.name, site.name_en, site.community_id, site.address, site.family_bed, site.floors,
       site.timezone) IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name, EXCLUDED.name_en, EXCLUDED.community_id,
       EXCLUDED.address, EXCLUDED.family_bed, EXCLUDED.floors, EXCLUDED.timezone)
"""

UPSERT_ROOM = """
INSERT INTO room (id, site_id, name, kind, floor) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET site_id = EXCLUDED.site_id, name = EXCLUDED.name, kind = EXCLUDED.kind,
    floor = EXCLUDED.floor
"""

UPSERT_ZONE = """
INSERT INTO zone (id, site_id, name, secure, is_exit, floor) VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET site_id = EXCLUDED.site_id, name = EXCLUDED.name, secure = EXCLUDED.secure,
    is_exit = EXCLUDED.is_exit, floor = EXCLUDED.floor
"""

UPSERT_BED = """
INSERT INTO bed (id, site_id, room_id, zone_id, bed_type) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET site_id = EXCLUDED.site_id, room_id = EXCLUDED.room_id,
    zone_id = EXCLUDED.zone_id, bed_type = EXCLUDED.bed_type
"""

UPSERT_RESIDENT = """
INSERT INTO resident (id, site_id, name, birth_year, sex, lives_alone, empty_nest, dementia, fall_risk,
                      key_elder, bed_id, room_id, ble_tag, bed_exit_minutes)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET site_id = EXCLUDED.site_id, name = EXCLUDED.name,
    birth_year = EXCLUDED.birth_year, sex = EXCLUDED.sex, lives_alone = EXCLUDED.lives_alone,
    empty_nest = EXCLUDED.empty_nest, dementia = EXCLUDED.dementia, fall_risk = EXCLUDED.fall_risk,
    key_elder = EXCLUDED.key_elder, bed_id = EXCLUDED.bed_id, room_id = EXCLUDED.room_id,
    ble_tag = EXCLUDED.ble_tag, bed_exit_minutes = EXCLUDED.bed_exit_minutes, updated_at = now()
"""

# Contacts have no id in the file: (resident, order, name) identifies them; those no longer listed go.
DELETE_OTHER_CONTACTS = """
DELETE FROM contact WHERE resident_id = %s
AND (escalation_order, name) NOT IN (SELECT o, n FROM unnest(%s::int[], %s::text[]) AS u(o, n))
"""

UPSERT_CONTACT = """
INSERT INTO contact (resident_id, name, relation, role, phone, escalation_order, locale)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (resident_id, escalation_order, name) DO UPDATE SET relation = EXCLUDED.relation,
    role = EXCLUDED.role, phone = EXCLUDED.phone, locale = EXCLUDED.locale
WHERE (contact.relation, contact.role, contact.phone, contact.locale)
      IS DISTINCT FROM (EXCLUDED.relation, EXCLUDED.role, EXCLUDED.phone, EXCLUDED.locale)
"""

UPSERT_DEVICE = """
INSERT INTO device (id, kind, vendor, model, site_id, room_id, bed_id, resident_id, zone_id, safety_critical,
                    heartbeat_s, password_hash)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, vendor = EXCLUDED.vendor, model = EXCLUDED.model,
    site_id = EXCLUDED.site_id, room_id = EXCLUDED.room_id, bed_id = EXCLUDED.bed_id,
    resident_id = EXCLUDED.resident_id, zone_id = EXCLUDED.zone_id, safety_critical = EXCLUDED.safety_critical,
    heartbeat_s = EXCLUDED.heartbeat_s,
    password_hash = COALESCE(EXCLUDED.password_hash, device.password_hash), updated_at = now()
"""

DEVICE_INDEX = """
SELECT id, kind, site_id, resident_id, room_id, bed_id, zone_id, active FROM device
"""

COUNTS = """
SELECT (SELECT count(*) FROM site) AS sites, (SELECT count(*) FROM resident) AS residents,
       (SELECT count(*) FROM device) AS devices
"""
