"""The whole simulated fleet: administrative areas, homes and facilities (deterministic for a seed)."""

from __future__ import annotations

from simulator.context import SimOptions
from simulator.facility import build_facility
from simulator.homes import build_home
from simulator.model import Area, Fleet
from simulator.names import COMMUNITIES


def build_fleet(seed: int, homes: int, facilities: int, beds: int, opts: SimOptions | None = None) -> Fleet:
    opts = opts or SimOptions()
    areas = [
        Area("hn", "海宁市", "city", "Haining"),
        Area("hn-xs", "硖石街道", "town", "Xiashi Street", parent="hn"),
    ]
    n_comm = max(1, min(len(COMMUNITIES), (homes + facilities + 24) // 25))
    for i in range(n_comm):
        areas.append(Area(f"hn-xs-c{i + 1:02d}", COMMUNITIES[i], "community", parent="hn-xs"))
    comm = [a.id for a in areas if a.level == "community"]
    sites = [build_home(seed, i, comm[i % len(comm)], opts.heartbeat_s, opts.wearable_share) for i in range(homes)]
    sites += [build_facility(seed, j, beds, comm[j % len(comm)], opts.heartbeat_s) for j in range(facilities)]
    return Fleet(areas, sites)
