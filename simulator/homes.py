"""Homes of people living alone and of empty-nest couples, some with a family eldercare bed."""

from __future__ import annotations

from simulator import names
from simulator.model import Bed, Device, Resident, Room, Site
from simulator.people import pick_profile
from simulator.rng import rng, token

# vendor, model, firmware, timestamp format (vendors differ: the contract allows RFC 3339 and epoch ms)
VENDORS = {
    "pir": ("zhisense", "ZS-PIR2", "2.1.4", "epoch"),
    "door_contact": ("zhisense", "ZS-DC1", "2.1.4", "epoch"),
    "bed_sensor": ("mianyun", "MB-200", "1.8.0", "rfc3339"),
    "radar": ("leida", "LD-60G", "3.0.2", "rfc3339"),
    "wearable": ("hutong", "HW-W3", "5.2.1", "epoch"),
    "sos_button": ("zhisense", "ZS-SOS", "1.0.9", "epoch"),
    "ble_gateway": ("lanya", "BG-4", "4.4.0", "rfc3339"),
}
MAINS_POWERED = frozenset({"radar", "ble_gateway", "bed_sensor"})


def make_device(  # noqa: PLR0917
    seed: int, site: Site, dev_id: str, kind: str, heartbeat_s: int, safety_critical: bool, **bind: str | None
) -> Device:
    vendor, model, fw, ts_format = VENDORS[kind]
    dev = Device(
        id=dev_id,
        kind=kind,
        site=site.id,
        vendor=vendor,
        model=model,
        firmware=fw,
        safety_critical=safety_critical,
        heartbeat_s=heartbeat_s,
        password=token(seed, "device-password", dev_id),
        battery_powered=kind not in MAINS_POWERED,
        ts_format=ts_format,
        **bind,
    )
    site.devices.append(dev)
    return dev


def build_home(seed: int, index: int, community: str | None, heartbeat_s: int, wearable_share: float) -> Site:
    """One home: bedroom, bathroom, kitchen, living room, entrance; one or two residents and their devices."""
    r = rng(seed, "home", index)
    n = index + 1
    sid, short = f"home-{n:04d}", f"h{n:04d}"
    couple = r.random() < 0.45
    family_bed = r.random() < 0.3
    rooms = [
        Room(f"{sid}-bed", "卧室", "bedroom"),
        Room(f"{sid}-bath", "卫生间", "bathroom"),
        Room(f"{sid}-kit", "厨房", "kitchen"),
        Room(f"{sid}-liv", "客厅", "living"),
        Room(f"{sid}-ent", "门厅", "entrance"),
    ]
    beds = [Bed(f"{sid}-b1", rooms[0].id, "nursing" if family_bed else "ordinary")]
    if couple and family_bed:
        beds.append(Bed(f"{sid}-b2", rooms[0].id, "ordinary"))  # the spouse's own bed, no sensor
    surname, _ = names.person(r, "M")
    site = Site(sid, "home", "", community, family_bed=family_bed, rooms=rooms, beds=beds, index=index)
    sexes = ["M", "F"] if couple else [r.choice("FFM")]
    profiles = [pick_profile(r) for _ in sexes]
    if family_bed:
        profiles[0] = "frail"  # the family eldercare bed is there for a frail resident
    for i, (sex, profile) in enumerate(zip(sexes, profiles, strict=True)):
        age = r.randint(65, 92) if profile != "frail" else r.randint(75, 95)
        _sur, name = names.person(r, sex, surname if (i == 0 or sex == "M") else None)
        if i == 0:
            site.name = f"{name[0]}{'奶奶' if sex == 'F' else '爷爷'}家"
        fall_risk = "high" if profile == "frail" else r.choice(("low", "low", "medium"))
        key = ["living_alone"] if not couple else ["empty_nest"]
        if age >= 80:
            key.append("very_old")
        if profile == "frail" and family_bed:
            key.append("disabled")
        bed = beds[0].id if (i == 0 or not family_bed) else beds[-1].id
        kid = names.child(r, surname)
        site.residents.append(
            Resident(
                id=f"r-{short}-{i + 1}",
                name=name,
                birth_year=2025 - age,
                sex=sex,
                site=sid,
                profile=profile,
                lives_alone=not couple,
                empty_nest=couple,
                dementia=False,
                fall_risk=fall_risk,
                key_elder=key,
                bed=bed,
                room=rooms[0].id,
                contacts=[
                    {
                        "name": kid,
                        "relation": "儿子" if r.random() < 0.5 else "女儿",
                        "role": "family",
                        "phone": names.phone(r),
                        "order": 1,
                    },
                    {
                        "name": names.person(r, "F")[1],
                        "relation": "社区网格员",
                        "role": "community_worker",
                        "phone": names.phone(r),
                        "order": 2,
                    },
                ],
                index=i,
            )
        )
    hb = heartbeat_s
    make_device(seed, site, f"{short}-pir-bed", "pir", hb, False, room=rooms[0].id)
    make_device(seed, site, f"{short}-pir-bath", "pir", hb, True, room=rooms[1].id)
    make_device(seed, site, f"{short}-pir-kit", "pir", hb, False, room=rooms[2].id)
    make_device(seed, site, f"{short}-pir-liv", "pir", hb, False, room=rooms[3].id)
    make_device(seed, site, f"{short}-door", "door_contact", hb, True, room=rooms[4].id)
    make_device(seed, site, f"{short}-bed-b1", "bed_sensor", hb, True, room=rooms[0].id, bed=beds[0].id)
    make_device(seed, site, f"{short}-radar-bath", "radar", hb, True, room=rooms[1].id)
    alone = site.residents[0].id if not couple else None
    make_device(seed, site, f"{short}-sos", "sos_button", hb, True, room=rooms[0].id, resident=alone)
    for res in site.residents:
        if res.fall_risk == "high" or r.random() < wearable_share:
            make_device(seed, site, f"{short}-wear-{res.index + 1}", "wearable", hb, True, resident=res.id)
    return site
