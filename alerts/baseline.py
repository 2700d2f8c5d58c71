"""The personal routine baseline of one home, learned online (pure, no I/O).

Two Gamma-Poisson models, both per hour of the week (weekday-aware) and shrunk towards coarser pools:

* **Silence hazard** per *context* (where the person was last seen: bed, seat, bathroom, kitchen, ..., away):
  the rate at which a new activity bout starts once the home has been silent for the refractory time ``g``.
  This is a piecewise-constant survival (Poisson-regression) estimator: events / time at risk. The chance that
  a silence which started at ``t0`` in context ``c`` lasts until ``t`` is ``S = exp(-Λ)`` with
  ``Λ = ∫_{t0+g}^{t} λ_c(u) du``. Activity is bursty (a kitchen visit is a volley of PIR/cabinet events), so
  counting *bouts* after a refractory gap instead of raw events is what makes the Poisson assumption tenable.
* **Event rate** (all human events per hour of the week), used to explain alerts ("usually ~14 events
  08:00–09:00") and to grade how active an hour normally is.

Shrinkage hierarchy (each level is the Gamma prior of the next, with a strength in pseudo-hours of exposure):
population prior(context group, hour of day) -> home, context group, hour of day -> home, context, hour of day
-> home, context, hour of week. Hour-of-day pools are smoothed with a circular [1/4, 1/2, 1/4] kernel so a rise
at 07:55 and one at 08:05 inform each other. A new home therefore starts from the population priors (cold start)
and moves to its own routine as exposure accumulates (a cell's own data dominates after a few hours of exposure).

The state is a few arrays of floats: :meth:`Routine.snapshot` / :meth:`Routine.restore` give a JSON-able dict.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerts.activity import CONTEXTS

HOURS_PER_WEEK = 168
_HOUR = timedelta(hours=1)


def context_group(context: str) -> str:
    """Contexts pooled at the second level: every room visit is 'free' (up and about)."""
    return context if context in {"bed", "seat", "away"} else "free"


# --- population priors (cold start) ---------------------------------------------------------------------------
# Bouts of activity per hour once 5 min have passed in silence, for an older adult living at home, chosen from first
# principles rather than from the evaluation homes: awake and up, a new bout (moving to another room, opening a
# cupboard...) every ~30 min (2/h); asleep ~0.2/h (a night toilet visit every ~5 h); resting on a sofa/chair the
# hazard of getting up is ~once per 1.5-2 h; in bed by day (a nap) ~1/h. They are deliberately on the low side:
# a low prior hazard means a cold-start home alerts later, never earlier, than a learned one.
_FREE_PRIOR = (0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 0.6, 1.2) + (2.0,) * 13 + (1.5, 1.0, 0.5)
_BED_PRIOR = (0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 0.6) + (1.0,) * 14 + (0.3, 0.2, 0.1)
_SEAT_PRIOR = (0.3,) * 7 + (0.6,) * 15 + (0.4, 0.3)
_AWAY_PRIOR = (0.3,) * 24
_PRIORS = {"free": _FREE_PRIOR, "bed": _BED_PRIOR, "seat": _SEAT_PRIOR, "away": _AWAY_PRIOR}
# Human events per hour (all sensors) for the explanation text before the home has data.
_EVENT_PRIOR = (0.5,) * 6 + (2.0,) * 17 + (0.5,)
# Cold-start probability of being in bed per hour of day (22:00-06:59 night; by day a nap is possible).
_IN_BED_PRIOR = (0.9,) * 6 + (0.6,) + (0.1,) * 15 + (0.5, 0.8)


_NIGHT = tuple(p >= 0.5 for p in _IN_BED_PRIOR)  # hours of the night band of the home level (22:00-06:59)


def population_hazard(context: str, hour: int) -> float:
    """Cold-start bout hazard (per hour) of a context at an hour of the day."""
    return _PRIORS[context_group(context)][hour]


def how_index(ts: datetime) -> int:
    """Hour of the week, Monday 00:00 = 0."""
    return ts.weekday() * 24 + ts.hour


def hour_segments(t0: datetime, t1: datetime) -> Iterator[tuple[int, float]]:
    """Split [t0, t1) at hour boundaries: yields (hour of week, hours inside it)."""
    t = t0
    while t < t1:
        boundary = t.replace(minute=0, second=0, microsecond=0) + _HOUR
        end = min(boundary, t1)
        yield how_index(t), (end - t).total_seconds() / 3600.0
        t = end


def _smooth_hod(values: list[float]) -> list[float]:
    n = len(values)
    return [0.25 * values[(h - 1) % n] + 0.5 * values[h] + 0.25 * values[(h + 1) % n] for h in range(n)]


def _hod_sum(week: list[float]) -> list[float]:
    return [sum(week[d * 24 + h] for d in range(7)) for h in range(24)]


@dataclass
class Routine:
    """Online-learned routine of one home: silence hazards, event rates, bed habit. Pure and JSON-restorable.

    ``strength_*`` are the prior strengths in pseudo-hours of exposure of each shrinkage level.
    """

    strength_group: float = 1.0
    strength_context: float = 1.0
    strength_week: float = 2.0
    strength_events: float = 1.0
    strength_bed: float = 1.0
    strength_level: float = 5.0
    """Pseudo-bouts of the home-level multiplier (0 disables it): how much busier or quieter than the population
    prior this home is in a context group, over all hours, before hour-of-day cells are trusted."""
    # hazard data per context: bouts (n) and hours at risk (e) per hour of week
    n: dict[str, list[float]] = field(default_factory=lambda: {c: [0.0] * HOURS_PER_WEEK for c in CONTEXTS})
    e: dict[str, list[float]] = field(default_factory=lambda: {c: [0.0] * HOURS_PER_WEEK for c in CONTEXTS})
    # event-rate data: human events and observed hours per hour of week
    events: list[float] = field(default_factory=lambda: [0.0] * HOURS_PER_WEEK)
    observed: list[float] = field(default_factory=lambda: [0.0] * HOURS_PER_WEEK)
    # bed habit: hours in bed and observed hours per hour of day (only meaningful once a bed sensor reported)
    in_bed: list[float] = field(default_factory=lambda: [0.0] * 24)
    bed_observed: list[float] = field(default_factory=lambda: [0.0] * 24)
    _cache: dict[str, list[float]] = field(default_factory=dict, repr=False)
    _hod: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict, repr=False)

    # --- learning ---------------------------------------------------------------------------------------------

    def observe_silence(self, context: str, start: datetime, end: datetime, *, ended: bool) -> None:
        """Add the time at risk [start, end) of a closed silence; ``ended`` means a bout started at ``end``."""
        if end > start:
            e = self.e[context]
            for idx, hours in hour_segments(start, end):
                e[idx] += hours
        if ended:
            self.n[context][how_index(end)] += 1.0
        self._hod.pop(context, None)
        group = context_group(context)
        for member in CONTEXTS:  # every table of the group pools this context's data
            if context_group(member) == group:
                self._cache.pop(member, None)

    def observe_time(self, start: datetime, end: datetime, *, in_bed: bool | None) -> None:
        """Account observed wall-clock time (for event rates and, if a bed sensor exists, the bed habit)."""
        for idx, hours in hour_segments(start, end):
            self.observed[idx] += hours
            if in_bed is not None:
                self.bed_observed[idx % 24] += hours
                if in_bed:
                    self.in_bed[idx % 24] += hours

    def count_event(self, ts: datetime) -> None:
        self.events[how_index(ts)] += 1.0

    # --- queries ----------------------------------------------------------------------------------------------

    def hazard_table(self, context: str) -> list[float]:
        """Posterior-mean bout hazard per hour of week for a context (cached until new data arrive)."""
        table = self._cache.get(context)
        if table is not None:
            return table
        group = context_group(context)
        members = [c for c in CONTEXTS if context_group(c) == group]
        raw_n = [sum(col) for col in zip(*(self._hod_of(c)[0] for c in members), strict=True)]
        raw_e = [sum(col) for col in zip(*(self._hod_of(c)[1] for c in members), strict=True)]
        g_n, g_e = _smooth_hod(raw_n), _smooth_hod(raw_e)
        own_n, own_e = self._hod_of(context)
        c_n, c_e = _smooth_hod(own_n), _smooth_hod(own_e)
        prior = _PRIORS[group]
        if self.strength_level > 0:
            # Indirect standardisation: observed bouts / bouts the population prior expects over this home's own
            # exposure, Gamma(a, a)-shrunk to 1. An hour of day with little exposure then starts from this home's
            # level (a busy home's quiet evening kitchen) rather than from the deliberately low population rate.
            # Night and day get a level each: a home that is busy by day says nothing about its nights, and on the
            # first night a day-only level would turn the quiet night prior into a busy one (MIT-1's first night
            # alerted after 10.8 h that way).
            a = self.strength_level
            levels = {}
            for band in (True, False):
                hours = [h for h in range(24) if _NIGHT[h] is band]
                levels[band] = (a + sum(raw_n[h] for h in hours)) / (a + sum(prior[h] * raw_e[h] for h in hours))
            prior = tuple(levels[_NIGHT[h]] * prior[h] for h in range(24))
        hod = []
        for h in range(24):
            mu_g = (self.strength_group * prior[h] + g_n[h]) / (self.strength_group + g_e[h])
            hod.append((self.strength_context * mu_g + c_n[h]) / (self.strength_context + c_e[h]))
        n_w, e_w = self.n[context], self.e[context]
        table = [
            (self.strength_week * hod[i % 24] + n_w[i]) / (self.strength_week + e_w[i]) for i in range(HOURS_PER_WEEK)
        ]
        self._cache[context] = table
        return table

    def _hod_of(self, context: str) -> tuple[list[float], list[float]]:
        """Hour-of-day sums of a context's bouts and exposure (cached: only the context that learned changes)."""
        got = self._hod.get(context)
        if got is None:
            got = (_hod_sum(self.n[context]), _hod_sum(self.e[context]))
            self._hod[context] = got
        return got

    def integrated_hazard(self, context: str, start: datetime, end: datetime) -> float:
        """Λ = ∫ λ_context(u) du over [start, end): expected number of new bouts in that window."""
        if end <= start:
            return 0.0
        table = self.hazard_table(context)
        return sum(table[idx] * hours for idx, hours in hour_segments(start, end))

    def expected_events(self, start: datetime, end: datetime) -> float:
        """Expected number of human events in [start, end) from the hour-of-week event rate (explanations)."""
        s = self.strength_events
        hod_n, hod_e = _smooth_hod(_hod_sum(self.events)), _smooth_hod(_hod_sum(self.observed))
        hod = [(s * _EVENT_PRIOR[h] + hod_n[h]) / (s + hod_e[h]) for h in range(24)]
        total = 0.0
        for idx, hours in hour_segments(start, end):
            rate = (s * hod[idx % 24] + self.events[idx]) / (s + self.observed[idx])
            total += rate * hours
        return total

    def observed_hours(self) -> float:
        """Wall-clock hours of this home seen so far."""
        return sum(self.observed)

    def bouts_per_day(self, prior_per_day: float = 20.0, prior_days: float = 3.0) -> float:
        """Learned number of activity bouts (= silences that could turn into an alert) per day."""
        bouts = sum(sum(v) for v in self.n.values())
        days = sum(self.observed) / 24.0
        return (prior_per_day * prior_days + bouts) / (prior_days + days)

    def p_in_bed(self, hour: int, exclude_in_bed: float = 0.0, exclude_observed: float = 0.0) -> float:
        """Posterior probability of being in bed at this hour of day (Beta shrinkage to the night prior).

        ``exclude_in_bed`` removes hours of the ongoing stay, so an anomaly is not learned as routine while it runs;
        ``exclude_observed`` removes observed hours spent out of bed (the same for an anomaly the pad did not see).
        """
        s = self.strength_bed
        in_bed = max(0.0, self.in_bed[hour] - exclude_in_bed)
        observed = max(0.0, self.bed_observed[hour] - exclude_in_bed - exclude_observed)
        return (s * _IN_BED_PRIOR[hour] + in_bed) / (s + observed)

    def usual_rise(self) -> int | None:
        """First hour of the morning (04:00-14:00) this person is usually no longer in bed (P(in bed) < 1/2)."""
        for h in range(4, 15):
            if self.p_in_bed(h) < 0.5:
                return h
        return None

    # --- persistence ------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "n": {c: list(v) for c, v in self.n.items()},
            "e": {c: list(v) for c, v in self.e.items()},
            "events": list(self.events),
            "observed": list(self.observed),
            "in_bed": list(self.in_bed),
            "bed_observed": list(self.bed_observed),
        }

    def restore(self, data: dict[str, Any]) -> None:
        for c in CONTEXTS:
            self.n[c] = [float(x) for x in data["n"].get(c, [0.0] * HOURS_PER_WEEK)]
            self.e[c] = [float(x) for x in data["e"].get(c, [0.0] * HOURS_PER_WEEK)]
        self.events = [float(x) for x in data["events"]]
        self.observed = [float(x) for x in data["observed"]]
        self.in_bed = [float(x) for x in data["in_bed"]]
        self.bed_observed = [float(x) for x in data["bed_observed"]]
        self._cache.clear()
        self._hod.clear()
