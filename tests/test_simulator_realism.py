"""Realism of routines, sensors and accelerometer waveforms against published ranges.

Sources (also in docs/simulator.md and the module docstrings of simulator/people.py and simulator/accel.py):

- Roenneberg et al. 2007, Sleep Med Rev 11:429-438 (chronotype advances with age: older adults wake early);
- Ohayon et al. 2004, Sleep 27:1255-1273 and Hirshkowitz et al. 2015, Sleep Health 1:40-43 (7-8 h sleep for
  >= 65, lower sleep efficiency: ~7.5-9.5 h in bed);
- Bosch & Weiss 2010, J Urol 184:440-446 (nocturia >= 1 void/night in most people over 70, >= 2 in a minority);
- Schrack et al. 2014, J Gerontol A 69:973-979 (older adults' activity peaks in the morning);
- Bourke et al. 2007, Gait Posture 26:194-199; Kangas et al. 2008, Gait Posture 28:285-291; Klenk et al. 2011,
  Med Eng Phys 33:368-373 (waist/trunk impact 2.5-6 g, free fall < 0.6 g, post-fall lying stillness);
- Moe-Nilssen & Helbostad 2004, J Biomech 37:121-126 (older adults' cadence ~1.6-1.9 steps/s).
"""

from __future__ import annotations

import statistics
from collections import Counter

import numpy as np
import pytest

from simulator import accel
from simulator.clock import DAY_MS, HOUR_MS, MIN_MS, local_tod_ms, parse_start
from simulator.context import SimContext, SimOptions
from simulator.engine import run
from simulator.fleet import build_fleet
from simulator.model import Occupant
from simulator.output import ListSink
from simulator.people import Routine

DAY0 = parse_start("2025-03-03")
DAYS = 14


@pytest.fixture(scope="module")
def home_plans() -> list[list]:
    """Two weeks of plans for every home resident of a 60-home fleet."""
    fleet = build_fleet(5, 60, 0, 0)
    plans = []
    for site in fleet.sites:
        for res in site.residents:
            rt = Routine(res, site, 5, DAY0, Occupant(res.id, "resident", res))
            plans.append([rt.plan(d) for d in range(DAYS)])
    return plans


def _hours(ms: int) -> float:
    return local_tod_ms(ms) / HOUR_MS


def test_wake_and_bed_times_match_older_adults(home_plans) -> None:
    wakes = [_hours(days[d][0].start) for days in home_plans for d in range(DAYS)]
    beds = []
    for days in home_plans:
        for plan in days:
            first_sleep = next(s for s in plan if s.activity == "sleep")
            h = _hours(first_sleep.start)
            beds.append(h + 24 if h < 12 else h)
    assert 5.5 <= statistics.median(wakes) <= 7.5
    assert 20.75 <= statistics.median(beds) <= 23.0
    assert 0.3 <= statistics.pstdev(wakes) <= 1.5  # varies day to day and between profiles
    assert min(wakes) >= 4.0 and max(wakes) <= 10.0


def test_hours_in_bed_per_night(home_plans) -> None:
    nights = []
    for days in home_plans:
        for plan in days:
            night_start = next(s.start for s in plan if s.activity == "sleep")
            nights.append(
                sum(s.end - s.start for s in plan if s.activity == "sleep" and s.start >= night_start) / HOUR_MS
            )
    mean = statistics.mean(nights)
    assert 7.5 <= mean <= 9.5, mean
    assert statistics.quantiles(nights, n=10)[0] >= 6.0


def test_night_toilet_visits_nocturia(home_plans) -> None:
    counts = []
    for days in home_plans:
        for plan in days:
            night_start = next(s.start for s in plan if s.activity == "sleep")
            counts.append(sum(1 for s in plan if s.start > night_start and s.activity == "toilet"))
    mean = statistics.mean(counts)
    share_any = sum(c >= 1 for c in counts) / len(counts)
    share_two = sum(c >= 2 for c in counts) / len(counts)
    assert 0.8 <= mean <= 2.0, mean
    assert 0.55 <= share_any <= 0.9, share_any
    assert 0.2 <= share_two <= 0.6, share_two


def test_activity_peaks_in_the_morning(home_plans) -> None:
    active = {"walk", "cook", "wash", "out"}
    per_hour = Counter()
    for days in home_plans:
        for plan in days:
            for s in plan:
                if s.activity in active:
                    t = s.start
                    while t < s.end:
                        per_hour[int(_hours(t))] += min(s.end, t + MIN_MS) - t
                        t += MIN_MS
    peak = max(range(24), key=lambda h: per_hour[h])
    assert 7 <= peak <= 11, peak
    morning = sum(per_hour[h] for h in range(8, 12))
    evening = sum(per_hour[h] for h in range(19, 23))
    assert morning > 1.5 * evening
    assert per_hour[3] < 0.1 * per_hour[peak]


def test_weekdays_differ_from_weekends(home_plans) -> None:
    # family visits and later rising at weekends: wake-up on Sat/Sun later on average
    wk = [_hours(days[d][0].start) for days in home_plans for d in range(DAYS) if d % 7 < 5]
    we = [_hours(days[d][0].start) for days in home_plans for d in range(DAYS) if d % 7 >= 5]
    assert statistics.mean(we) > statistics.mean(wk)


def test_fall_waveform_phases() -> None:
    g = np.random.Generator(np.random.PCG64(3))
    peaks, dips = [], []
    for _ in range(40):
        s, impact = accel.fall(g, 50.0)
        mag = np.linalg.norm(s, axis=1)
        peaks.append(mag[impact - 2 : impact + 10].max())
        dips.append(mag[impact - 30 : impact].min())
        post = s[impact + 50 :]
        assert np.linalg.norm(post, axis=1).std() < 0.05  # post-fall stillness
        assert abs(post[:, 1].mean()) < 0.5  # lying: no longer upright (y was +1 g)
    assert all(2.5 <= p <= 6.0 for p in peaks), peaks
    assert all(d < 0.6 for d in dips), dips


def test_fall_with_recovery_gets_up() -> None:
    g = np.random.Generator(np.random.PCG64(4))
    s, _impact = accel.fall(g, 50.0, post_s=20, recover_after_s=8)
    assert s[-25:, 1].mean() > 0.8  # standing again at the end


def test_walking_cadence_and_amplitude() -> None:
    g = np.random.Generator(np.random.PCG64(5))
    for _ in range(10):
        w = accel.walking(g, 500, 50.0)
        v = w[:, 1] - w[:, 1].mean()
        spec = np.abs(np.fft.rfft(v))
        f = np.fft.rfftfreq(len(v), 1 / 50.0)[spec.argmax()]
        assert 1.5 <= f <= 2.0
        assert 0.15 <= (np.percentile(w[:, 1], 95) - np.percentile(w[:, 1], 5)) / 2 <= 0.6


@pytest.fixture(scope="module")
def small_stream() -> tuple[list, SimOptions]:
    opts = SimOptions(offline_per_day=0.0)
    fleet = build_fleet(9, 8, 1, 20, opts)
    ctx = SimContext(9, "", DAY0, DAY0 + 2 * DAY_MS, opts)
    sink = ListSink()
    run(fleet, ctx, None, sink)
    return sink.messages, opts


def test_pir_respects_blind_time(small_stream) -> None:
    msgs, opts = small_stream
    last: dict[str, int] = {}
    n = 0
    for pub, _g, _n, topic, payload, _r in msgs:
        if '"kind":"motion"' in payload:
            dev = topic.split("/")[-2]
            if dev in last:
                assert pub - last[dev] >= opts.pir_blind_s * 1000
            last[dev] = pub
            n += 1
    assert n > 1000


def test_bed_vitals_in_physiological_ranges_with_gaps(small_stream) -> None:
    import json

    hrs, rrs, occupied = [], [], 0
    for _p, _g, _n, _t, payload, _r in small_stream[0]:
        if '"kind":"bed"' in payload:
            m = json.loads(payload)
            if m["occupied"]:
                occupied += 1
                if "heart_rate" in m:
                    hrs.append(m["heart_rate"])
                if "respiration_rate" in m:
                    rrs.append(m["respiration_rate"])
    assert occupied > 500
    assert 50 <= statistics.median(hrs) <= 80
    assert 12 <= statistics.median(rrs) <= 20
    assert 0.02 < 1 - len(hrs) / occupied < 0.3  # some reports without vitals (gaps)


def test_accelerometer_volume_is_duty_cycled(small_stream) -> None:
    msgs, _opts = small_stream
    per_dev = Counter(t.split("/")[-2] for _p, _g, _n, t, payload, _r in msgs if '"kind":"accel"' in payload)
    assert per_dev
    for count in per_dev.values():
        # active windows only: far below 86 400 batches/day of continuous streaming
        assert count / 2 < 600
