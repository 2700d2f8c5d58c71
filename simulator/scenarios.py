"""Scenario files (YAML): events injected into the background population, and their ground-truth labels.

Schema (see docs/simulator.md for the full description)::

    name: examples
    description: free text
    events:
      - kind: fall                       # one of RESIDENT_KINDS or DEVICE_KINDS below
        who: {site_kind: home, fall_risk: high}   # selector (resident/site/device ids or attributes)
        count: 2                         # how many matching residents/devices (picked with the seed)
        day: 3                           # or days: [1, 5] (random within); default: random day >= 1
        at: "10:30"                      # or between: ["08:00", "20:00"]; hours may exceed 24 (next night)
        ...                              # kind-specific parameters (recovered, lie_minutes, minutes, ...)
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulator.clock import DAY_MS, MIN_MS, hhmm_to_ms
from simulator.context import SimContext
from simulator.errors import ScenarioError
from simulator.faults import MALFORMED_VARIANTS, FaultWindow
from simulator.model import Device, Fleet, Resident, Seg, Site
from simulator.people import Routine, at, overlay
from simulator.rng import rng
from simulator.sensors import KEEPALIVE_S, DeviceModel

log = logging.getLogger(__name__)

RESIDENT_KINDS = {
    "fall": ("08:00", "21:00"),
    "no_morning_rise": ("00:00", "00:00"),
    "prolonged_bathroom": ("08:00", "21:00"),
    "not_returning_to_bed": ("24:30", "27:00"),
    "night_wandering": ("23:00", "27:00"),
    "zone_exit": ("09:00", "19:00"),
    "bed_exit": ("23:30", "27:30"),
    "sos": ("08:00", "21:00"),
}
DEVICE_KINDS = {
    "device_dies": ("06:00", "22:00"),
    "device_silent": ("06:00", "22:00"),
    "duplicates": ("00:00", "23:00"),
    "out_of_order": ("00:00", "23:00"),
    "late_delivery": ("00:00", "23:00"),
    "clock_skew": ("00:00", "23:00"),
    "malformed": ("00:00", "23:00"),
}
RESIDENT_KEYS = {
    "resident",
    "site",
    "site_kind",
    "fall_risk",
    "dementia",
    "lives_alone",
    "empty_nest",
    "profile",
    "has_device",
}
DEVICE_KEYS = {"device", "site", "site_kind", "device_kind", "room_kind"}
COMMON_KEYS = {"kind", "who", "count", "day", "days", "at", "between", "note"}
PARAMS = {
    "fall": {"recovered", "lie_minutes", "room", "sos", "peak_g"},
    "no_morning_rise": {"until"},
    "prolonged_bathroom": {"minutes"},
    "not_returning_to_bed": set(),
    "night_wandering": {"minutes", "exit"},
    "zone_exit": {"minutes"},
    "bed_exit": {"count_exits", "minutes"},
    "sos": {"long_press"},
    "device_dies": {"minutes", "down_hours"},
    "device_silent": {"minutes"},
    "duplicates": {"minutes", "probability"},
    "out_of_order": {"minutes", "probability", "delay_s"},
    "late_delivery": {"minutes", "delay_s"},
    "clock_skew": {"minutes", "skew_s"},
    "malformed": {"minutes", "probability", "count_messages", "variants"},
}


@dataclass
class Scenario:
    name: str
    description: str
    events: list[dict[str, Any]] = field(default_factory=list)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (raises :class:`ScenarioError`)."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from None
    return parse_scenario(doc, str(path))


def parse_scenario(doc: Any, where: str = "scenario") -> Scenario:
    if not isinstance(doc, dict) or not isinstance(doc.get("events", []), list):
        raise ScenarioError(f"{where}: expected a mapping with an 'events' list")
    unknown = set(doc) - {"name", "description", "events"}
    if unknown:
        raise ScenarioError(f"{where}: unknown top-level keys {sorted(unknown)}")
    events = []
    for i, ev in enumerate(doc.get("events") or []):
        if not isinstance(ev, dict) or "kind" not in ev:
            raise ScenarioError(f"{where}: event {i} needs a 'kind'")
        kind = ev["kind"]
        if kind not in RESIDENT_KINDS and kind not in DEVICE_KINDS:
            raise ScenarioError(f"{where}: event {i}: unknown kind {kind!r}")
        extra = set(ev) - COMMON_KEYS - PARAMS[kind]
        if extra:
            raise ScenarioError(f"{where}: event {i} ({kind}): unknown keys {sorted(extra)}")
        who = ev.get("who") or {}
        allowed = DEVICE_KEYS if kind in DEVICE_KINDS else RESIDENT_KEYS
        if not isinstance(who, dict) or set(who) - allowed:
            raise ScenarioError(f"{where}: event {i} ({kind}): 'who' may use {sorted(allowed)}")
        for key in ("at",):
            if key in ev:
                _tod(ev[key], where, i)
        if "between" in ev and (not isinstance(ev["between"], list) or len(ev["between"]) != 2):
            raise ScenarioError(f"{where}: event {i}: 'between' must be [from, to]")
        for v in ev.get("variants") or []:
            if v not in MALFORMED_VARIANTS:
                raise ScenarioError(f"{where}: event {i}: unknown malformed variant {v!r}")
        events.append(dict(ev))
    return Scenario(str(doc.get("name", Path(where).stem)), str(doc.get("description", "")), events)


def _tod(v: Any, where: str, i: int) -> int:
    try:
        return hhmm_to_ms(str(v))
    except ValueError:
        raise ScenarioError(f"{where}: event {i}: bad time of day {v!r} (use HH:MM)") from None


@dataclass
class ResidentEdit:
    kind: str
    resident: Resident
    site: Site
    day: int
    time: int
    params: dict[str, Any]
    r: random.Random


class Injector:
    """Resolves scenario events against the fleet; edits residents' plans; arms device faults; writes labels."""

    def __init__(self, scenario: Scenario | None, fleet: Fleet, ctx: SimContext, days: int, day0: int) -> None:
        self.ctx, self.fleet, self.days, self.day0 = ctx, fleet, days, day0
        self.edits: dict[str, list[ResidentEdit]] = {}
        self.device_events: list[tuple[str, Device, int, dict[str, Any], random.Random]] = []
        self.models: dict[str, DeviceModel] = {}
        self.name = scenario.name if scenario else ""
        if scenario:
            for i, ev in enumerate(scenario.events):
                self._resolve(i, ev)

    # --- resolution ------------------------------------------------------------------------------------------

    def _resolve(self, i: int, ev: dict[str, Any]) -> None:
        kind = ev["kind"]
        r = rng(self.ctx.seed, "scenario", self.name, i)
        who = ev.get("who") or {}
        if kind in DEVICE_KINDS:
            cands: list[Any] = [d for d in self.fleet.devices() if self._match_device(d, who)]
        else:
            cands = [x for x in self.fleet.residents() if self._match_resident(x, who)]
        count = int(ev.get("count", 1))
        if not cands:
            # A scenario is mixed into whatever population was asked for: a small fleet may have no match.
            log.warning(
                "scenario %s event %d (%s): nothing in the fleet matches who=%s; skipped", self.name, i, kind, who
            )
            return
        picks = r.sample(cands, min(count, len(cands)))
        for target in picks:
            d = self._day(ev, r)
            lo, hi = RESIDENT_KINDS.get(kind) or DEVICE_KINDS[kind]
            if "at" in ev:
                tod = hhmm_to_ms(str(ev["at"]))
            else:
                a, b = (hhmm_to_ms(str(x)) for x in ev.get("between", (lo, hi)))
                if b < a:
                    b += DAY_MS
                tod = r.randint(a, max(a, b))
            t = self.day0 + d * DAY_MS + tod
            params = {k: v for k, v in ev.items() if k not in COMMON_KEYS}
            if kind in DEVICE_KINDS:
                self.device_events.append((kind, target, t, params, rng(self.ctx.seed, "scenario-dev", i, target.id)))
            else:
                site = next(s for s in self.fleet.sites if s.id == target.site)
                edit = ResidentEdit(kind, target, site, d, t, params, rng(self.ctx.seed, "scenario-res", i, target.id))
                self.edits.setdefault(target.id, []).append(edit)

    def _day(self, ev: dict[str, Any], r: random.Random) -> int:
        last = max(0, self.days - 1)
        if "day" in ev:
            d = int(ev["day"])
        elif "days" in ev:
            a, b = (int(x) for x in ev["days"])
            d = r.randint(a, b)
        else:
            d = r.randint(min(1, last), last)
        return max(0, min(last, d))

    def _match_resident(self, x: Resident, who: dict[str, Any]) -> bool:
        site = next(s for s in self.fleet.sites if s.id == x.site)
        checks = {
            "resident": x.id,
            "site": x.site,
            "site_kind": site.kind,
            "fall_risk": x.fall_risk,
            "dementia": x.dementia,
            "lives_alone": x.lives_alone,
            "empty_nest": x.empty_nest,
            "profile": x.profile,
        }
        for k, want in who.items():
            if k == "has_device":
                if not any(d.kind == want and d.resident == x.id for d in site.devices):
                    return False
            elif isinstance(want, list):
                if checks[k] not in want:
                    return False
            elif checks[k] != want:
                return False
        return True

    def _match_device(self, d: Device, who: dict[str, Any]) -> bool:
        site = next(s for s in self.fleet.sites if s.id == d.site)
        room_kind = next((rm.kind for rm in site.rooms if rm.id == d.room), None)
        checks = {"device": d.id, "site": d.site, "site_kind": site.kind, "device_kind": d.kind, "room_kind": room_kind}
        for k, want in who.items():
            if (checks[k] not in want) if isinstance(want, list) else (checks[k] != want):
                return False
        return True

    # --- device events ---------------------------------------------------------------------------------------

    def arm_devices(self, models: dict[str, DeviceModel]) -> None:
        self.models = models
        for kind, dev, t, p, _r in self.device_events:
            m = models[dev.id]
            minutes = float(p.get("minutes", 60))
            end = t + int(minutes * MIN_MS)
            fs = m.fault_state()
            det: dict[str, Any] = {"scenario": self.name}
            if kind == "device_dies":
                level = m.battery(t)
                m.drain = (t, end, level if level is not None else 20.0)
                down = p.get("down_hours")
                revive = self.ctx.end if down is None else end + int(float(down) * 3_600_000)
                fs.add(FaultWindow("dead", end, revive))
                m.add_sys(end + int(1.5 * KEEPALIVE_S * 1000), "offline")
                if revive < self.ctx.end:
                    m.add_sys(revive, "online")
                det.update(
                    mode="battery",
                    drain_from=t,
                    dead_at=_iso(self.ctx, end),
                    back_at=_iso(self.ctx, revive) if revive < self.ctx.end else None,
                )
                self._dev_label(end, dev, "device_failure", det)
                continue
            if kind == "device_silent":
                back = self.ctx.end if p.get("minutes") is None else end
                fs.add(FaultWindow("silent", t, back))
                det.update(mode="silent", until=_iso(self.ctx, back))
                self._dev_label(t, dev, "device_silent", det)
                continue
            params: dict[str, Any] = {}
            if kind == "duplicates":
                params["probability"] = float(p.get("probability", 0.3))
            elif kind == "out_of_order":
                params["probability"] = float(p.get("probability", 0.3))
                params["delay_ms"] = int(float(p.get("delay_s", 300)) * 1000)
            elif kind == "late_delivery":
                params["delay_ms"] = int(float(p.get("delay_s", 1800)) * 1000)
            elif kind == "clock_skew":
                params["skew_ms"] = int(float(p.get("skew_s", -600)) * 1000)
            elif kind == "malformed":
                params["variants"] = list(p.get("variants") or sorted(MALFORMED_VARIANTS))
                params["probability"] = float(p.get("probability", 0.2))
                if "count_messages" in p:
                    params["count"] = int(p["count_messages"])
            fs.add(FaultWindow(kind, t, end, params))
            if kind in ("late_delivery", "clock_skew"):  # per-message labels for the others
                det.update({k: v for k, v in params.items()}, until=_iso(self.ctx, end))
                self._dev_label(t, dev, kind, det)

    def _dev_label(self, t: int, dev: Device, kind: str, det: dict[str, Any]) -> None:
        self.ctx.labels.add(t, dev.site, dev.resident, kind, {"device": dev.id, "device_kind": dev.kind, **det})

    # --- resident plan edits ---------------------------------------------------------------------------------

    def edit(self, routine: Routine, d: int, segs: list[Seg]) -> list[Seg]:
        edits = self.edits.get(routine.res.id)
        if not edits or not segs:
            return segs
        a, b = segs[0].start, segs[-1].end
        for e in edits:
            if (e.kind == "no_morning_rise" and e.day == d) or (e.kind != "no_morning_rise" and a <= e.time < b):
                segs = self._apply(e, routine, segs, a, b)
        return segs

    def _label(self, t: int, e: ResidentEdit, kind: str, **details: Any) -> None:
        self.ctx.labels.add(t, e.site.id, e.resident.id, kind, {"scenario": self.name, **details})

    def _apply(self, e: ResidentEdit, rt: Routine, segs: list[Seg], a: int, b: int) -> list[Seg]:
        occ, p, r, t = rt.occ, e.params, e.r, e.time
        new: list[Seg] = []

        def add(place: str, activity: str, dur_ms: int, bed: str | None = None, **kw: Any) -> None:
            s = new[-1].end if new else t
            new.append(Seg(s, s + max(1000, dur_ms), place, activity, occ, bed, kw.get("fall")))

        kind = e.kind
        if kind == "fall":
            t = self._fall_time(rt, segs, t, p.get("room"))
            place = (at(segs, t) or segs[-1]).place
            if place == rt.out:
                place = rt.entrance
            recovered = bool(p.get("recovered", True))
            lie_min = float(p.get("lie_minutes", 2 if recovered else 75))
            fall = {"recovered": recovered, "lie_s": lie_min * 60, "peak_g": p.get("peak_g")}
            add(place, "fall", 2000, fall=fall)
            add(place, "floor", int(lie_min * MIN_MS) - 2000)
            add(rt.living if rt.site.kind == "home" else rt.bedroom, "sit", (10 if recovered else 30) * MIN_MS)
            room_kind = next((rm.kind for rm in rt.site.rooms if rm.id == place), None)
            self._label(
                t,
                e,
                "fall",
                room=place,
                room_kind=room_kind,
                recovered=recovered,
                lie_minutes=lie_min,
                sos=bool(p.get("sos", False)),
            )
            if lie_min >= 60:  # clinical definition of a long lie: on the floor for an hour or more
                self._label(t, e, "long_lie", room=place, lie_minutes=lie_min, recovered=recovered)
            if p.get("sos"):
                self._press(e, t + r.randint(20_000, 90_000), False)
        elif kind == "no_morning_rise":
            until = rt.day0 + e.day * DAY_MS + hhmm_to_ms(str(p.get("until", "11:30")))
            t = a
            add(rt.bedroom, "rest_bed", until - a, bed=rt.res.bed)
            self._label(a, e, "no_morning_rise", expected_wake=_iso(self.ctx, a), stayed_until=_iso(self.ctx, until))
        elif kind == "prolonged_bathroom":
            minutes = float(p.get("minutes", 60))
            add(rt.bath, "toilet", int(minutes * MIN_MS))
            self._label(t, e, "prolonged_bathroom", room=rt.bath, minutes=minutes)
        elif kind == "not_returning_to_bed":
            add(rt.bath, "toilet", r.randint(3, 7) * MIN_MS)
            add(rt.living, "sit", b - new[-1].end)
            self._label(t, e, "not_returned_to_bed", until=_iso(self.ctx, b))
        elif kind == "night_wandering":
            minutes = float(p.get("minutes", 45))
            end = t + int(minutes * MIN_MS)
            places = [rt.corridor, rt.living, rt.kitchen] if rt.site.kind == "home" else [rt.corridor, rt.living]
            if rt.site.kind == "home":
                places = [rt.living, rt.kitchen, rt.entrance]
            exit_done = False
            while (new[-1].end if new else t) < end:
                if p.get("exit") and not exit_done and (new[-1].end if new else t) > t + (end - t) // 2:
                    self._label(new[-1].end if new else t, e, "zone_exit", zone=self._exit_zone(rt), during="night")
                    add(rt.hall, "wander", r.randint(2, 5) * MIN_MS)
                    exit_done = True
                    continue
                add(r.choice(places), "wander", r.randint(2, 6) * MIN_MS)
            self._label(t, e, "night_wandering", minutes=minutes, exit=bool(p.get("exit", False)))
        elif kind == "zone_exit":
            minutes = float(p.get("minutes", 20))
            add(rt.corridor, "walk", 2 * MIN_MS)
            add(rt.hall if rt.site.kind == "facility" else rt.entrance, "walk", MIN_MS)
            t_exit = new[-1].start
            add(rt.out, "out", int(minutes * MIN_MS))
            add(rt.hall if rt.site.kind == "facility" else rt.entrance, "walk", MIN_MS)
            add(rt.corridor, "walk", MIN_MS)
            add(rt.bedroom, "sit", 15 * MIN_MS)
            self._label(t_exit, e, "zone_exit", zone=self._exit_zone(rt), minutes_away=minutes)
        elif kind == "bed_exit":
            n = int(p.get("count_exits", 2))
            tt = t
            for _ in range(n):
                s = at(segs, tt)
                if s is None:
                    break
                dur = int(float(p["minutes"]) * MIN_MS) if p.get("minutes") is not None else r.randint(2, 6) * MIN_MS
                one = [Seg(tt, tt + dur, rt.bedroom, "walk", occ)]
                segs = overlay(segs, [x for x in one if x.end <= b])
                self._label(tt, e, "bed_exit", minutes=dur / MIN_MS, was=s.activity)
                tt += dur + r.randint(20, 70) * MIN_MS
                if tt >= b:
                    break
            return segs
        elif kind == "sos":
            self._press(e, t, bool(p.get("long_press", False)))
            return segs
        clipped = [Seg(max(s.start, a), min(s.end, b), s.place, s.activity, s.occ, s.bed, s.fall) for s in new]
        return overlay(segs, [s for s in clipped if s.end > s.start])

    def _fall_time(self, rt: Routine, segs: list[Seg], t: int, room_kind: str | None) -> int:
        kinds = {rm.id: rm.kind for rm in rt.site.rooms}
        for s in segs:
            if s.end <= t or s.place == rt.out or s.activity in ("sleep", "nap", "rest_bed"):
                continue
            if room_kind and kinds.get(s.place) != room_kind:
                continue
            if s.end - max(s.start, t) >= 60_000:
                return max(s.start, t) + min(45_000, (s.end - max(s.start, t)) // 3)
        return t

    def _exit_zone(self, rt: Routine) -> str | None:
        return next((rm.zone for rm in rt.site.rooms if rm.id == rt.hall), None)

    def _press(self, e: ResidentEdit, t: int, long_press: bool) -> None:
        devs = [d for d in e.site.devices if d.kind == "wearable" and d.resident == e.resident.id]
        devs = devs or [d for d in e.site.devices if d.kind == "sos_button"]
        if not devs:
            return
        self.models[devs[0].id].sos(t, long_press)
        self._label(t, e, "sos", device=devs[0].id, long_press=long_press)


def _iso(ctx: SimContext, ms: int) -> str:
    return ctx.fmt(ms)
