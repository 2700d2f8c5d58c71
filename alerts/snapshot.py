"""Snapshots of a site's routine state (pure): a restart restores them and replays only what came after.

Replaying 21 days of a home's sensor history costs ~1 s (the 1-minute virtual clock of the routine monitors),
which is fine for a few homes and far too slow for a district. So the worker saves each site's monitors
(``HomeActivityMonitor.snapshot()``) plus the edge memory of level sensors (bed occupied, radar presence) into
``detector_state`` every few minutes; at start-up a site with a snapshot replays only the history after the
snapshot's clock. Profiles (lives alone, fall risk) are registry data and are applied afresh on restore.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from alerts.inactivity import HomeActivityMonitor

if TYPE_CHECKING:
    from alerts.engine import DetectionEngine

VERSION = 1


def site_snapshot(engine: DetectionEngine, site_id: str) -> dict[str, Any] | None:
    """JSON-able routine state of one site, or None when it has none yet."""
    st = engine.sites.get(site_id)
    if st is None or not (st.monitors or st.wandering.last_zone):
        return None
    return {
        "version": VERSION,
        "monitors": {key: mon.snapshot() for key, mon in st.monitors.items()},
        "bed_state": dict(st.converter.bed_state),
        "radar_state": {dev: [up, posture] for dev, (up, posture) in st.converter.radar_state.items()},
        # Dementia zones: where each tag was last seen (a resident who leaves the secure zone right after a
        # restart is still "left the secure zone") and the recent zone changes of the night-wandering window.
        "zones": {
            res: {
                "zone": zone.id,
                "ts": ts.isoformat(),
                "changes": [c.isoformat() for c in st.wandering.changes.get(res, ())],
            }
            for res, (zone, ts) in st.wandering.last_zone.items()
        },
    }


def restore_site(engine: DetectionEngine, site_id: str, data: dict[str, Any]) -> datetime | None:
    """Restore one site's routine state; return the (UTC) time after which history must still be replayed.

    Returns None (nothing restored: replay everything) for an unknown snapshot version.
    """
    if data.get("version") != VERSION:
        return None
    st = engine.site(site_id)
    tz = engine.registry.tz(site_id)
    clocks = []
    for key, snap in data.get("monitors", {}).items():
        if key != "home" and key not in engine.registry.residents:
            continue  # that resident left: their bed monitor goes with them
        mon = HomeActivityMonitor.restore(snap, engine.profile(site_id, key))
        st.monitors[key] = mon
        if mon.clock is not None:
            clocks.append(mon.clock.replace(tzinfo=tz).astimezone(UTC))
    for res, z in data.get("zones", {}).items():
        zone = engine.registry.zones.get(z.get("zone", ""))
        if zone is None or res not in engine.registry.residents:
            continue  # zone or resident gone from the registry
        st.wandering.last_zone[res] = (zone, datetime.fromisoformat(z["ts"]))
        st.wandering.changes[res] = deque((datetime.fromisoformat(c) for c in z.get("changes", [])), maxlen=64)
    st.converter.bed_state = {k: bool(v) for k, v in data.get("bed_state", {}).items()}
    st.converter.radar_state = {k: (bool(v[0]), v[1]) for k, v in data.get("radar_state", {}).items()}
    return min(clocks) if clocks else None
