"""Care facilities: floors of two-bed rooms, nursing-type and ordinary beds, a dementia secure zone on the top
floor, BLE zone gateways and resident tags, staff rounds and visitors."""

from __future__ import annotations

import math
import random

from simulator import names
from simulator.clock import DAY_MS, MIN_MS
from simulator.homes import make_device
from simulator.model import Bed, Occupant, Resident, Room, Seg, Site, Zone
from simulator.rng import rng

H = 3_600_000
BEDS_PER_FLOOR = 20


def build_facility(seed: int, index: int, beds: int, community: str | None, heartbeat_s: int) -> Site:
    r = rng(seed, "facility", index)
    n = index + 1
    sid, short = f"fac-{n:02d}", f"f{n:02d}"
    floors = max(1, math.ceil(beds / BEDS_PER_FLOOR))
    site = Site(sid, "facility", f"{r.choice(('康乐', '颐和', '福寿', '安康'))}养老院{n}号", community, floors=floors)
    site.index = index
    hb = heartbeat_s
    left = beds
    k = 0
    for f in range(1, floors + 1):
        dementia = floors >= 2 and f == floors
        wing_zone = Zone(
            f"{sid}-dz" if dementia else f"{sid}-f{f}-wing",
            "认知症照护专区" if dementia else f"{f}楼居室区",
            f,
            secure=dementia,
        )
        day_zone = Zone(f"{sid}-dz-day" if dementia else f"{sid}-f{f}-day", f"{f}楼活动室", f, secure=dementia)
        exit_zone = Zone(f"{sid}-f{f}-exit", f"{f}楼电梯厅", f, exit=True)
        site.zones += [wing_zone, day_zone, exit_zone]
        corridor = Room(f"{sid}-f{f}-cor", f"{f}楼走廊", "corridor", f, wing_zone.id)
        day = Room(f"{sid}-f{f}-day", f"{f}楼餐厅活动室", "dining", f, day_zone.id)
        hall = Room(f"{sid}-f{f}-hall", f"{f}楼电梯厅", "hall", f, exit_zone.id)
        site.rooms += [corridor, day, hall]
        make_device(seed, site, f"{short}-f{f}-pir-cor", "pir", hb, False, room=corridor.id)
        make_device(seed, site, f"{short}-f{f}-pir-day", "pir", hb, False, room=day.id)
        make_device(seed, site, f"{short}-f{f}-door", "door_contact", hb, True, room=hall.id)
        for z in (wing_zone, day_zone, exit_zone):
            make_device(
                seed,
                site,
                f"{short}-gw-{z.id.removeprefix(sid + '-')}",
                "ble_gateway",
                hb,
                z.secure or z.exit,
                zone=z.id,
            )
        on_floor = min(BEDS_PER_FLOOR, left)
        left -= on_floor
        for rn in range(1, math.ceil(on_floor / 2) + 1):
            room = Room(f"{sid}-f{f}-r{rn:02d}", f"{f}{rn:02d}室", "bedroom", f, wing_zone.id)
            site.rooms.append(room)
            make_device(seed, site, f"{short}-f{f}-r{rn:02d}-radar", "radar", hb, True, room=room.id)
            for letter in "ab"[: min(2, on_floor - 2 * (rn - 1))]:
                k += 1
                bedridden = not dementia and r.random() < 0.25
                btype = "dementia" if dementia else ("nursing" if bedridden or r.random() < 0.4 else "ordinary")
                bed = Bed(f"{room.id}-{letter}", room.id, btype, wing_zone.id if dementia else None)
                site.beds.append(bed)
                sex = r.choice("FFM")
                age = r.randint(72, 98)
                _sur, name = names.person(r, sex)
                fall_risk = "high" if bedridden or (dementia and r.random() < 0.5) else r.choice(("low", "medium"))
                key = ["very_old"] if age >= 80 else []
                if bedridden:
                    key.append("disabled")
                res = Resident(
                    id=f"r-{short}-{k:03d}",
                    name=name,
                    birth_year=2025 - age,
                    sex=sex,
                    site=sid,
                    profile="bedridden" if bedridden else "facility",
                    lives_alone=False,
                    empty_nest=False,
                    dementia=dementia,
                    fall_risk=fall_risk,
                    key_elder=key,
                    bed=bed.id,
                    room=room.id,
                    ble_tag=f"tag-{short}-{k:03d}",
                    contacts=[
                        {
                            "name": names.person(r, r.choice("FM"))[1],
                            "relation": "子女",
                            "role": "family",
                            "phone": names.phone(r),
                            "order": 1,
                        }
                    ],
                    floor=f,
                    index=k,
                )
                site.residents.append(res)
                make_device(
                    seed, site, f"{short}-f{f}-r{rn:02d}-bed-{letter}", "bed_sensor", hb, True, room=room.id, bed=bed.id
                )
                if fall_risk == "high" and not bedridden:
                    make_device(seed, site, f"{short}-wear-{k:03d}", "wearable", hb, True, resident=res.id)
    return site


def others_day(site: Site, seed: int, day0: int, d: int) -> list[Seg]:
    """Staff rounds (night every 2 h, room by room; day corridor passes) and visitors of one facility day."""
    r = rng(seed, "facility-others", site.id, d)
    base = day0 + d * DAY_MS
    weekend = ((day0 + 8 * H) // DAY_MS + d + 3) % 7 >= 5
    segs: list[Seg] = []
    for f in range(1, site.floors + 1):
        staff = Occupant(f"staff-{site.id}-f{f}", "staff")
        cor, hall = f"{site.id}-f{f}-cor", f"{site.id}-f{f}-hall"
        rooms = [rm.id for rm in site.rooms if rm.floor == f and rm.kind == "bedroom"]
        # Night rounds: 22:00, 00:00, 02:00, 04:00 (+ jitter), every room checked for ~30 s.
        for hour in (22, 24, 26, 28):
            t = (
                base + int((hour - 24 + r.gauss(0, 0.1)) * H)
                if hour >= 24
                else base + int((hour + r.gauss(0, 0.1)) * H)
            )
            t = max(t, base)
            for room in rooms:
                segs.append(Seg(t, t + 20_000, cor, "staff", staff))
                t += 20_000
                dur = int(r.uniform(20, 45) * 1000)
                segs.append(Seg(t, t + dur, room, "staff", staff))
                t += dur
        # Daytime: staff pass along the corridor about once an hour.
        for hour in range(7, 21):
            t = base + int((hour + r.uniform(0, 0.8)) * H)
            segs.append(Seg(t, t + int(r.uniform(2, 6) * MIN_MS), cor, "staff", staff))
        # Visitors come through the hall (exit door) to a resident's room, more at weekends.
        residents = [x for x in site.residents if x.floor == f]
        for v in range(_count(r, 3.0 if weekend else 1.2)):
            if not residents:
                break
            who: Resident = r.choice(residents)
            vis = Occupant(f"visitor-{site.id}-f{f}-{d}-{v}", "visitor")
            t = base + int(r.uniform(9.0, 17.0) * H)
            stay = int(r.uniform(30, 90) * MIN_MS)
            segs += [
                Seg(t, t + 30_000, hall, "visit", vis),
                Seg(t + 30_000, t + 60_000, cor, "visit", vis),
                Seg(t + 60_000, t + 60_000 + stay, who.room or cor, "visit", vis),
                Seg(t + 60_000 + stay, t + 90_000 + stay, cor, "visit", vis),
                Seg(t + 90_000 + stay, t + 120_000 + stay, hall, "visit", vis),
            ]
    return segs


def home_visitors(site: Site, seed: int, day0: int, d: int) -> list[Seg]:
    """Children visiting their parents, mostly at weekends (1-2 people in the living room for 1-3 h)."""
    r = rng(seed, "home-visitors", site.id, d)
    weekend = ((day0 + 8 * H) // DAY_MS + d + 3) % 7 >= 5
    if r.random() >= (0.35 if weekend else 0.06):
        return []
    base = day0 + d * DAY_MS
    ent, liv = f"{site.id}-ent", f"{site.id}-liv"
    t = base + int(r.uniform(10.0, 16.0) * H)
    stay = int(r.uniform(60, 180) * MIN_MS)
    segs = []
    for v in range(r.choice((1, 2))):
        vis = Occupant(f"visitor-{site.id}-{d}-{v}", "visitor")
        segs += [
            Seg(t, t + 40_000, ent, "visit", vis),
            Seg(t + 40_000, t + 40_000 + stay, liv, "visit", vis),
            Seg(t + 40_000 + stay, t + 80_000 + stay, ent, "visit", vis),
        ]
    return segs


def _count(r: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k
