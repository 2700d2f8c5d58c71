"""The simulation loop: sites generate timelines ahead, devices turn them into messages, the engine merges
every device's messages into one stream ordered by virtual publish time (ties: device order, then sequence), so
a seed always yields the same byte stream.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.clock import DAY_MS, HOUR_MS, MIN_MS, Pacer, local_midnight
from simulator.context import SimContext
from simulator.facility import home_visitors, others_day
from simulator.model import Fleet, Occupant, Seg, Site
from simulator.output import LabelWriter, Msg, Sink
from simulator.people import Routine
from simulator.scenarios import Injector, Scenario
from simulator.sensors import DeviceModel, build_model

LOOKAHEAD_MS = 30 * MIN_MS  # timelines are generated at least this far ahead of the devices


class SiteSim:
    """One site: residents' routines, staff and visitors, and the devices that see them."""

    def __init__(self, site: Site, ctx: SimContext, models: list[DeviceModel], injector: Injector, day0: int) -> None:
        self.site, self.ctx, self.injector, self.day0 = site, ctx, injector, day0
        self.by_place: dict[str, list[DeviceModel]] = {}
        self.by_occ: dict[str, list[DeviceModel]] = {}
        room_zone = {r.id: r.zone for r in site.rooms}
        for m in models:
            d = m.dev
            if d.kind == "wearable" and d.resident:
                self.by_occ.setdefault(d.resident, []).append(m)
            elif d.kind == "ble_gateway":
                for room, zone in room_zone.items():
                    if zone == d.zone:
                        self.by_place.setdefault(room, []).append(m)
            elif d.room:
                self.by_place.setdefault(d.room, []).append(m)
        self.routines = []
        for res in site.residents:
            occ = Occupant(res.id, "resident", res, res.ble_tag)
            self.routines.append(Routine(res, site, ctx.seed, day0, occ))
        self.day = 0
        self.horizon = day0
        for rt in self.routines:
            for seg in rt.initial():
                self.feed(seg)

    def feed(self, seg: Seg) -> None:
        for m in self.by_place.get(seg.place, ()):
            m.feed(seg)
        for m in self.by_occ.get(seg.occ.id, ()):
            m.feed(seg)

    def ensure(self, t: int) -> None:
        while self.horizon < t:
            d = self.day
            for rt in self.routines:
                for seg in self.injector.edit(rt, d, rt.plan(d)):
                    self.feed(seg)
            others = (others_day if self.site.kind == "facility" else home_visitors)(
                self.site, self.ctx.seed, self.day0, d
            )
            for seg in others:
                self.feed(seg)
            self.day += 1
            self.horizon = self.day0 + self.day * DAY_MS


@dataclass
class RunStats:
    messages: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    virtual_days: float = 0.0


class Progress:
    """A text progress bar on stderr, redrawn at most a few times per second."""

    def __init__(self, total_ms: int, enabled: bool = True) -> None:
        self.total, self.enabled = max(1, total_ms), enabled and sys.stderr is not None
        self.t0 = time.monotonic()
        self.last = 0.0

    def update(self, done_ms: int, messages: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < 0.3):
            return
        self.last = now
        frac = min(1.0, done_ms / self.total)
        el = now - self.t0
        rate = messages / el if el > 0 else 0.0
        eta = el / frac - el if frac > 0 else 0.0
        bar = "#" * int(frac * 30)
        sys.stderr.write(
            f"\r[{bar:<30}] {frac * 100:5.1f}% day {done_ms / DAY_MS:6.2f}/{self.total / DAY_MS:.2f} "
            f"{messages:>11,} msgs {rate:>9,.0f}/s ETA {eta:5.0f}s "
        )
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def run(
    fleet: Fleet,
    ctx: SimContext,
    scenario: Scenario | None,
    sink: Sink,
    *,
    speed: float = 0.0,
    labels: LabelWriter | None = None,
    progress: bool = False,
    stop: Callable[[], bool] | None = None,
) -> RunStats:
    """Simulate ``[ctx.start, ctx.end)`` and write every message to ``sink`` in publish order."""
    day0 = local_midnight(ctx.start)
    days = max(1, -(-(ctx.end - day0) // DAY_MS))
    injector = Injector(scenario, fleet, ctx, days, day0)
    models: dict[str, DeviceModel] = {}
    sims = []
    gidx = 0
    for site in fleet.sites:
        zone_of_room = {r.id: r.zone for r in site.rooms}
        site_models = []
        for dev in site.devices:
            m = build_model(dev, ctx, gidx, zone_of_room)
            gidx += 1
            models[dev.id] = m
            site_models.append(m)
        sims.append(site_models)
    injector.arm_devices(models)
    site_sims = [SiteSim(site, ctx, ms, injector, day0) for site, ms in zip(fleet.sites, sims, strict=True)]
    all_models = list(models.values())
    pacer = Pacer(ctx.start, speed) if speed > 0 else None
    window = HOUR_MS if pacer is None else max(200, min(HOUR_MS, int(250 * speed)))
    stats = RunStats(virtual_days=(ctx.end - ctx.start) / DAY_MS)
    bar = Progress(ctx.end - ctx.start, progress)
    t0 = time.monotonic()
    t = ctx.start
    while t < ctx.end:
        if stop is not None and stop():
            break
        t1 = min(t + window, ctx.end)
        for s in site_sims:
            s.ensure(t1 + LOOKAHEAD_MS)
        batch: list[Msg] = []
        for m in all_models:
            m.advance(t1)
            m.drain_until(t1, batch)
        batch.sort()
        batch = [x for x in batch if x[0] >= ctx.start]
        if pacer is not None and batch:
            _paced_write(sink, batch, pacer)
        else:
            sink.write(batch)
        stats.messages += len(batch)
        if labels is not None:
            labels.write(ctx.labels.pop_until(t1))
        else:
            ctx.labels.pop_until(t1)
        t = t1
        bar.update(t - ctx.start, stats.messages)
    if labels is not None:
        labels.write([x for x in ctx.labels.pop_until(ctx.end)])
    bar.update(t - ctx.start, stats.messages, force=True)
    bar.finish()
    stats.by_kind = dict(sorted(ctx.labels.counts.items()))
    stats.wall_s = time.monotonic() - t0
    return stats


def _paced_write(sink: Sink, batch: list[Msg], pacer: Pacer) -> None:
    """Real-time pacing: hand messages to the sink when the wall clock reaches their virtual time."""
    i = 0
    while i < len(batch):
        due = batch[i][0]
        pacer.wait_until(due)
        j = i
        limit = due + 50  # everything due within 50 ms goes out together
        while j < len(batch) and batch[j][0] <= limit:
            j += 1
        sink.write(batch[i:j])
        i = j
