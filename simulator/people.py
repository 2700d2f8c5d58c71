"""Residents' profiles and daily routines: a per-resident, per-day plan of (place, activity) segments.

Each plan covers one "day" from that morning's wake-up to the next wake-up (so the night belongs to the day
before), generated from a random stream of its own (master seed, resident, day): a scenario that edits one day
never shifts another day or another person.

Realism anchors (the test-suite checks these ranges, ``tests/test_simulator_realism.py``):

- Wake-up and bedtime: older adults are early chronotypes; mid-sleep advances with age after ~50
  (Roenneberg et al. 2007, Sleep Med Rev 11:429-438). Profiles centre wake-up between 05:30 and 07:45 and
  bedtime between 20:45 and 23:30, with day-to-day SD 20-40 min.
- Hours in bed: time in bed rises and sleep efficiency falls in old age (Ohayon et al. 2004, Sleep 27:1255-73);
  7-8 h of sleep is recommended for >= 65 (Hirshkowitz et al. 2015, Sleep Health 1:40-43), i.e. roughly
  7.5-9.5 h in bed at 80-90 % efficiency. Frail residents stay longer in bed.
- Night toilet visits: nocturia (>= 1 void per night) affects most people over 70 and >= 2 voids a large
  minority (Bosch & Weiss 2010, J Urol 184:440-446). Plans draw a Poisson count per night with a
  profile mean of 0.8-2.0.
- Activity across the day: older adults are most active in the morning, with a decline through the
  afternoon and evening (Schrack et al. 2014, J Gerontol A 69:973-979): outings and housework cluster before
  lunch, an afternoon nap is common.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from simulator.clock import DAY_MS, MIN_MS
from simulator.model import Occupant, Resident, Seg, Site
from simulator.rng import rng

H = 3_600_000


@dataclass(frozen=True)
class Profile:
    wake_h: float
    wake_sd_h: float
    bed_h: float
    bed_sd_h: float
    slowness: float  # multiplies activity durations
    outings: float  # expected outings per day
    nap_p: float
    nocturia: float  # mean night toilet visits
    fall_risk: str


PROFILES: dict[str, Profile] = {
    "early_riser": Profile(5.5, 0.4, 21.0, 0.4, 1.0, 1.2, 0.5, 1.2, "low"),
    "night_owl": Profile(7.75, 0.5, 23.25, 0.5, 1.0, 0.9, 0.4, 1.0, "low"),
    "frail": Profile(6.9, 0.6, 21.25, 0.5, 1.5, 0.3, 0.85, 2.0, "high"),
    "active": Profile(6.0, 0.35, 22.0, 0.4, 0.85, 1.7, 0.3, 0.8, "low"),
    "typical": Profile(6.5, 0.45, 21.75, 0.45, 1.0, 1.0, 0.6, 1.2, "medium"),
    "facility": Profile(6.25, 0.3, 20.5, 0.4, 1.3, 0.0, 0.9, 1.5, "medium"),
    "bedridden": Profile(6.5, 0.3, 20.25, 0.4, 1.6, 0.0, 1.0, 1.8, "high"),
}
HOME_PROFILE_WEIGHTS = (("typical", 0.35), ("early_riser", 0.2), ("night_owl", 0.1), ("frail", 0.2), ("active", 0.15))


def pick_profile(r: random.Random) -> str:
    x = r.random()
    acc = 0.0
    for name, w in HOME_PROFILE_WEIGHTS:
        acc += w
        if x < acc:
            return name
    return "typical"


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _poisson(r: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k


class Plan:
    """Builds a contiguous list of segments from ``t``; durations are in minutes and scaled by slowness."""

    def __init__(self, occ: Occupant, t: int, slowness: float, r: random.Random) -> None:
        self.occ, self.t, self.slow, self.r = occ, t, slowness, r
        self.segs: list[Seg] = []

    def add(self, place: str, activity: str, lo: float, hi: float, bed: str | None = None, scale: bool = True) -> None:  # noqa: PLR0917
        minutes = self.r.uniform(lo, hi) * (self.slow if scale else 1.0)
        self.until(place, activity, self.t + max(int(minutes * MIN_MS), 1000), bed)

    def until(self, place: str, activity: str, end: int, bed: str | None = None) -> None:
        if end <= self.t:
            return
        last = self.segs[-1] if self.segs else None
        if last and last.place == place and last.activity == activity and last.bed == bed:
            last.end = end
        else:
            self.segs.append(Seg(self.t, end, place, activity, self.occ, bed))
        self.t = end


class Routine:
    """Daily plans of one resident (home or facility)."""

    def __init__(self, resident: Resident, site: Site, seed: int, day0: int, occ: Occupant) -> None:
        self.res, self.site, self.seed, self.day0, self.occ = resident, site, seed, day0, occ
        self.p = PROFILES[resident.profile]
        pr = rng(seed, "profile-offset", resident.id)
        # A persistent personal offset on top of the profile (people differ within a profile).
        self.offset_h = pr.gauss(0, 0.25)
        rooms = {r.kind: r.id for r in site.rooms if resident.floor == r.floor or site.kind == "home"}
        self.bedroom = resident.room or rooms.get("bedroom", "")
        self.bath = rooms.get("bathroom", self.bedroom)
        self.kitchen = rooms.get("kitchen", rooms.get("dining", self.bedroom))
        self.living = rooms.get("living", rooms.get("activity", self.bedroom))
        self.corridor = rooms.get("corridor", self.living)
        self.hall = rooms.get("hall", self.corridor)
        self.entrance = rooms.get("entrance", self.hall)
        self.out = f"{site.id}/out"
        self._wake: dict[int, int] = {}

    def weekday(self, d: int) -> int:
        return ((self.day0 + 8 * H) // DAY_MS + d + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)

    def wake(self, d: int) -> int:
        if d not in self._wake:
            r = rng(self.seed, "wake", self.res.id, d)
            weekend = 0.2 if self.weekday(d) >= 5 and self.site.kind == "home" else 0.0
            h = _clamp(r.gauss(self.p.wake_h + self.offset_h + weekend, self.p.wake_sd_h), 4.0, 10.0)
            self._wake[d] = self.day0 + d * DAY_MS + int(h * H)
        return self._wake[d]

    def bedtime(self, d: int, r: random.Random) -> int:
        h = _clamp(r.gauss(self.p.bed_h + self.offset_h * 0.7, self.p.bed_sd_h), 19.5, 25.5)
        return self.day0 + d * DAY_MS + int(h * H)

    def initial(self) -> list[Seg]:
        """From the start of the simulated period (local midnight) to the first wake-up: asleep."""
        return [Seg(self.day0, self.wake(0), self.bedroom, "sleep", self.occ, self.res.bed)]

    def plan(self, d: int) -> list[Seg]:
        r = rng(self.seed, "day", self.res.id, d)
        shared = rng(self.seed, "site-day", self.site.id, d)  # couples share meal times
        start, nxt = self.wake(d), self.wake(d + 1)
        bedtime = min(max(self.bedtime(d, r), start + 10 * H), nxt - 5 * H)
        pl = Plan(self.occ, start, self.p.slowness, r)
        if self.site.kind == "home":
            self._home_day(d, pl, r, shared, bedtime)
        else:
            self._facility_day(d, pl, r, shared, bedtime)
        self._night(pl, r, nxt)
        return pl.segs

    # --- homes -----------------------------------------------------------------------------------------------

    def _home_day(self, d: int, pl: Plan, r: random.Random, shared: random.Random, bedtime: int) -> None:
        base = self.day0 + d * DAY_MS
        lunch = base + int(shared.gauss(11.5, 0.3) * H)
        dinner = base + int(shared.gauss(17.75, 0.4) * H)
        weekday = self.weekday(d)
        pl.add(self.bedroom, "rest_bed", 1, 8, bed=self.res.bed)
        pl.add(self.bath, "toilet", 3, 7)
        pl.add(self.bath, "wash", 6, 14)
        pl.add(self.kitchen, "cook", 10, 25)
        pl.add(self.kitchen, "eat", 12, 22)
        # Morning outing (market, park, square exercise) is the most likely one: activity peaks before lunch.
        if r.random() < min(0.9, 0.62 * self.p.outings * (0.8 if weekday >= 5 else 1.0)):
            leave = max(pl.t + 5 * MIN_MS, base + int(r.uniform(7.5, 9.5) * H))
            self._fill(pl, r, min(leave, lunch - 100 * MIN_MS))
            self._outing(pl, 50, 140)
        self._fill(pl, r, lunch)
        pl.add(self.kitchen, "cook", 15, 35)
        pl.add(self.kitchen, "eat", 15, 28)
        if r.random() < self.p.nap_p:
            pl.add(self.bath, "toilet", 2, 5)
            if r.random() < 0.7:
                pl.add(self.bedroom, "nap", 25, 80, bed=self.res.bed, scale=False)
            else:
                pl.add(self.living, "nap", 20, 50, scale=False)  # dozing on the sofa
        if r.random() < min(0.8, 0.38 * self.p.outings):
            leave = max(pl.t + 10 * MIN_MS, base + int(r.uniform(14.5, 16.0) * H))
            self._fill(pl, r, min(leave, dinner - 90 * MIN_MS))
            self._outing(pl, 40, 100)
        self._fill(pl, r, dinner)
        pl.add(self.kitchen, "cook", 20, 40)
        pl.add(self.kitchen, "eat", 18, 32)
        self._fill(pl, r, bedtime - 25 * MIN_MS, evening=True)
        pl.add(self.bath, "wash", 6, 12)
        pl.add(self.bath, "toilet", 2, 5)

    def _outing(self, pl: Plan, lo: float, hi: float) -> None:
        """Through the front door (the door contact sees it), away, and back in."""
        pl.add(self.entrance, "walk", 0.4, 1.5)
        pl.add(self.out, "out", lo, hi, scale=False)
        pl.add(self.entrance, "walk", 0.3, 1.0)

    def _fill(self, pl: Plan, r: random.Random, until: int, evening: bool = False) -> None:
        """Free time at home: sitting (TV, tea), pottering about, toilet every couple of hours."""
        last_toilet = pl.t
        while pl.t < until - 2 * MIN_MS:
            if pl.t - last_toilet > r.uniform(1.6, 3.0) * H:
                pl.add(self.bath, "toilet", 2, 6)
                last_toilet = pl.t
                continue
            x = r.random()
            if x < (0.78 if evening else 0.6):
                pl.add(self.living, "sit", 15, 55)
            elif x < 0.85:
                pl.add(r.choice((self.kitchen, self.living, self.bedroom)), "walk", 3, 12)
            else:
                pl.add(self.kitchen, "cook", 4, 10)  # tea, snack, tidying up
            if pl.t > until:
                break
        pl.until(self.living, "sit", until)

    # --- facilities ------------------------------------------------------------------------------------------

    def _facility_day(self, d: int, pl: Plan, r: random.Random, shared: random.Random, bedtime: int) -> None:
        base = self.day0 + d * DAY_MS
        bedridden = self.res.profile == "bedridden"
        room, day_room = self.bedroom, self.living
        pl.add(room, "rest_bed", 2, 10, bed=self.res.bed)
        pl.add(room, "toilet", 3, 7)
        pl.add(room, "wash", 6, 12)
        meals = ((7.4, 30, 45), (11.5, 35, 50), (17.0, 35, 50))
        for i, (hour, lo, hi) in enumerate(meals):
            at = base + int((hour + shared.gauss(0, 0.08)) * H)
            self._facility_fill(pl, r, at, bedridden)
            if bedridden:
                pl.add(room, "eat", lo, hi, scale=False)
            else:
                pl.add(self.corridor, "walk", 1, 3)
                pl.add(day_room, "eat", lo, hi, scale=False)
                pl.add(self.corridor, "walk", 1, 3)
            if i == 1:  # institutional afternoon rest
                pl.add(room, "toilet", 2, 5)
                pl.add(room, "nap", 60, 100, bed=self.res.bed, scale=False)
        self._facility_fill(pl, r, bedtime - 20 * MIN_MS, bedridden)
        pl.add(room, "wash", 5, 10)
        pl.add(room, "toilet", 2, 5)

    def _facility_fill(self, pl: Plan, r: random.Random, until: int, bedridden: bool) -> None:
        last_toilet = pl.t
        while pl.t < until - 2 * MIN_MS:
            if pl.t - last_toilet > r.uniform(1.5, 2.5) * H:
                pl.add(self.bedroom, "toilet", 3, 6)
                last_toilet = pl.t
                continue
            x = r.random()
            if bedridden:
                pl.add(self.bedroom, "rest_bed" if x < 0.6 else "sit", 20, 60, bed=self.res.bed if x < 0.6 else None)
            elif x < 0.45:
                pl.add(self.living, "sit", 20, 60)  # day room activities, TV
            elif x < 0.85:
                pl.add(self.bedroom, "sit", 15, 45)
            else:
                pl.add(self.corridor, "walk", 3, 10)
        pl.until(self.bedroom, "sit", until)

    # --- night -----------------------------------------------------------------------------------------------

    def _night(self, pl: Plan, r: random.Random, nxt: int) -> None:
        """Sleep until the next wake-up, interrupted by night toilet visits (nocturia)."""
        sleep_start = pl.t
        visits = min(_poisson(r, self.p.nocturia), 4)
        span = nxt - sleep_start
        times = sorted(sleep_start + int(r.uniform(0.12, 0.92) * span) for _ in range(visits))
        bath = self.bath if self.site.kind == "home" else self.bedroom
        for t in times:
            if t <= pl.t + 10 * MIN_MS:
                continue
            pl.until(self.bedroom, "sleep", t, bed=self.res.bed)
            pl.add(bath, "toilet", 3, 7)
        pl.until(self.bedroom, "sleep", nxt, bed=self.res.bed)


def overlay(segs: list[Seg], new: list[Seg]) -> list[Seg]:
    """Replace whatever ``segs`` say during the span of ``new`` (contiguous, sorted) by ``new``."""
    if not new:
        return segs
    a, b = new[0].start, new[-1].end
    out: list[Seg] = []
    for s in segs:
        if s.end <= a or s.start >= b:
            out.append(s)
            continue
        if s.start < a:
            out.append(Seg(s.start, a, s.place, s.activity, s.occ, s.bed, s.fall))
        if s.end > b:
            out.append(Seg(b, s.end, s.place, s.activity, s.occ, s.bed, s.fall))
    out.extend(new)
    out.sort(key=lambda s: s.start)
    return out


def at(segs: list[Seg], t: int) -> Seg | None:
    """The segment covering ``t``."""
    for s in segs:
        if s.start <= t < s.end:
            return s
    return None
