"""Inactivity / routine detectors: synthetic homes with a known routine, then the real Ordóñez homes A and B.

The synthetic home is generated here (a regular daily routine with random activity bouts) so each property is
tested against a known truth; the real homes check the acceptance figures (false alerts, injected silences).
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from alerts.activity import HomeEvent, ResidentProfile
from alerts.alert import Severity
from alerts.eval_activity import evaluate, injected_silences, read_events, read_residents
from alerts.inactivity import DetectorConfig, HomeActivityMonitor
from alerts.tails import K_GRID, TailModel, lomax_survival

START = datetime(2024, 3, 4)  # a Monday
SILENCE_TYPES = {"inactivity", "bathroom_prolonged", "no_morning_rise"}


def _ev(ts: datetime, sensor: str, kind: str, room: str, value: int = 1) -> HomeEvent:
    return HomeEvent(ts, sensor, kind, room, value)


def routine(days: int = 28, seed: int = 1, bouts_per_hour: float = 6.0) -> list[HomeEvent]:
    """A regular single-resident routine: in bed ~22:30-06:30 with one night toilet visit, by day activity bouts
    (2-5 PIR triggers in one room) as a Poisson process, and an outing 14:00-15:30 on Wednesdays."""
    rng = random.Random(seed)
    out: list[HomeEvent] = []
    for d in range(days):
        day = START + timedelta(days=d)
        wake = day + timedelta(hours=6, minutes=30 + rng.randint(-20, 20))
        sleep = day + timedelta(hours=22, minutes=30 + rng.randint(-20, 20))
        out += [
            _ev(wake, "bed", "bed", "bedroom", 0),
            _ev(wake + timedelta(seconds=20), "pir-bed", "motion", "bedroom"),
        ]
        t = wake + timedelta(minutes=2)
        while t < sleep - timedelta(minutes=10):
            if day.weekday() == 2 and day + timedelta(hours=14) <= t < day + timedelta(hours=15, minutes=30):
                out += [
                    _ev(t, "front", "door", "entrance", 1),
                    _ev(t + timedelta(seconds=30), "front", "door", "entrance", 0),
                ]
                t = day + timedelta(hours=15, minutes=30)
                out += [
                    _ev(t, "front", "door", "entrance", 1),
                    _ev(t + timedelta(seconds=20), "front", "door", "entrance", 0),
                ]
                t += timedelta(minutes=1)
            room = rng.choice(["kitchen", "living", "bathroom", "bedroom"])
            for k in range(rng.randint(2, 5)):
                out.append(_ev(t + timedelta(seconds=40 * k), f"pir-{room}", "motion", room))
            t += timedelta(minutes=3) + timedelta(hours=rng.expovariate(bouts_per_hour))
        out += [
            _ev(sleep, "pir-bed", "motion", "bedroom"),
            _ev(sleep + timedelta(seconds=30), "bed", "bed", "bedroom", 1),
        ]
        night = day + timedelta(days=1, hours=2, minutes=rng.randint(-30, 30))
        out += [
            _ev(night, "bed", "bed", "bedroom", 0),
            _ev(night + timedelta(seconds=40), "pir-bathroom", "motion", "bathroom"),
            _ev(night + timedelta(minutes=4), "pir-bathroom", "motion", "bathroom"),
            _ev(night + timedelta(minutes=6), "pir-bed", "motion", "bedroom"),
            _ev(night + timedelta(minutes=7), "bed", "bed", "bedroom", 1),
        ]
    return sorted(out, key=lambda e: e.ts)


def cut(events: list[HomeEvent], start: datetime, hours: float) -> list[HomeEvent]:
    """Drop every event in [start, start + hours): an injected silence."""
    end = start + timedelta(hours=hours)
    return [e for e in events if not start <= e.ts < end]


def silence_alerts(alerts: list, after: datetime) -> list:
    return [a for a in alerts if a.type in SILENCE_TYPES and a.ts >= after]


@pytest.fixture(scope="module")
def home() -> list[HomeEvent]:
    return routine(seed=2)


def test_normal_routine_within_false_alert_budget() -> None:
    """A normal routine: no alert during sleep, and false alerts within the 30-day budget.

    The detector is calibrated, not silent: a truly random (Poisson) routine *does* have rare improbable
    silences, and the design budget is 0.5 false alerts per 30 days, so a single 28-day run may hold one. Over
    four homes (112 days) the rate must stay <= 1 per 30 days.
    """
    alerts = []
    for seed in (1, 2, 3, 4):
        events = routine(seed=seed)
        alerts += HomeActivityMonitor().replay(events, until=events[-1].ts)
    assert 30 * len(alerts) / (4 * 28) <= 1.0, [(a.ts, a.type) for a in alerts]
    assert [a for a in alerts if a.ts.hour >= 23 or a.ts.hour < 6] == []  # night sleep is never flagged


def test_injected_silence_active_hours_alerts_within_two_hours(home: list[HomeEvent]) -> None:
    for day in (15, 20, 24):
        t = START + timedelta(days=day, hours=10)
        alerts = HomeActivityMonitor().replay(cut(home, t, 6), until=t + timedelta(hours=6))
        found = silence_alerts(alerts, t)
        assert found, f"no alert for a silence from {t}"
        assert found[0].type == "inactivity"
        assert found[0].ts - t <= timedelta(hours=2), (found[0].ts, t)
        # expected vs observed, both languages, priority for a resident living alone
        assert "none since" in found[0].explanation_en and "起无任何活动" in found[0].explanation_zh
        assert found[0].severity is Severity.URGENT


def test_very_active_home_alerts_within_30_minutes() -> None:
    busy = routine(days=21, seed=3, bouts_per_hour=30.0)
    t = START + timedelta(days=18, hours=11)
    alerts = HomeActivityMonitor().replay(cut(busy, t, 4), until=t + timedelta(hours=4))
    found = silence_alerts(alerts, t)
    assert found and found[0].ts - t <= timedelta(minutes=30), found[:1]


def test_went_out_is_not_flagged(home: list[HomeEvent]) -> None:
    t = START + timedelta(days=20, hours=10)
    events = cut(home, t, 6)
    events += [_ev(t, "front", "door", "entrance", 1), _ev(t + timedelta(seconds=30), "front", "door", "entrance", 0)]
    alerts = HomeActivityMonitor().replay(sorted(events, key=lambda e: e.ts), until=t + timedelta(hours=6))
    assert silence_alerts(alerts, t) == []


def test_coming_home_then_silence_is_flagged(home: list[HomeEvent]) -> None:
    """Out through the front door at 10:00, back through it at 11:00, then nothing: the return passage puts the
    person at home (in the entrance), so the silence is judged -- not taken for a second outing."""
    t = START + timedelta(days=20, hours=10)
    back = t + timedelta(hours=1)
    events = cut(home, t, 10)
    events += [
        _ev(t, "front", "door", "entrance", 1),
        _ev(t + timedelta(seconds=30), "front", "door", "entrance", 0),
        _ev(back, "front", "door", "entrance", 1),
        _ev(back + timedelta(seconds=20), "front", "door", "entrance", 0),
    ]
    end = t + timedelta(hours=8)
    mon = HomeActivityMonitor()
    alerts = mon.replay(sorted((e for e in events if e.ts <= end), key=lambda e: e.ts), until=end)
    found = silence_alerts(alerts, t)
    assert found and found[0].ts <= back + timedelta(hours=4), [(a.ts, a.type) for a in alerts if a.ts >= t]
    assert found[0].evidence["context"] == "entrance"
    restored = HomeActivityMonitor.restore(json.loads(json.dumps(mon.snapshot())))
    assert (restored.passage_from, restored.passage_last) == (mon.passage_from, mon.passage_last)


def test_not_in_bed_at_the_usual_bedtime_is_flagged(home: list[HomeEvent]) -> None:
    """Last seen in the living room at 21:00, then nothing: this person is in bed by 23:00 every night, so by
    midnight -- not in bed, silent for hours -- it is flagged, even where evening silences are long."""
    t = START + timedelta(days=20, hours=21)
    events = [e for e in home if e.ts < t] + [_ev(t, "pir-living", "motion", "living")]
    end = t + timedelta(hours=9)
    found = silence_alerts(HomeActivityMonitor().replay(events, until=end), t)
    assert found and found[0].ts <= t + timedelta(hours=3, minutes=1), [(a.ts, a.type) for a in found]
    # Where evening silences are so varied that the silence test waits (here: switched off by a tiny alpha),
    # the bed habit still catches it: hour 23 is always spent in bed, so at 00:00.
    quiet = DetectorConfig(alpha_range=(1e-300, 1e-300))
    found = silence_alerts(HomeActivityMonitor(config=quiet).replay(events, until=end), t)
    assert [(a.ts, a.evidence.get("rule")) for a in found] == [(t + timedelta(hours=3), "not_in_bed_at_bedtime")]
    assert "Usually in bed by 23:00; not in bed at 00:00" in found[0].explanation_en
    assert "仍未上床" in found[0].explanation_zh and found[0].evidence["context"] == "living"
    # the same evening with the person going to bed at 22:30 raises nothing
    night = [*events, _ev(t + timedelta(minutes=90), "pir-bed", "motion", "bedroom"),
             _ev(t + timedelta(minutes=91), "bed", "bed", "bedroom", 1)]  # fmt: skip
    assert silence_alerts(HomeActivityMonitor().replay(night, until=t + timedelta(hours=8)), t) == []


def test_night_sleep_is_not_flagged_but_no_morning_rise_is(home: list[HomeEvent]) -> None:
    # Normal nights: covered by test_normal_routine_no_alert (28 nights in bed, no alert). Now stay in bed.
    wake = START + timedelta(days=21, hours=5, minutes=30)
    events = cut(home, wake, 9)
    alerts = HomeActivityMonitor().replay(events, until=wake + timedelta(hours=9))
    found = silence_alerts(alerts, wake - timedelta(hours=8))
    assert found and found[0].type == "no_morning_rise", [(a.ts, a.type) for a in alerts]
    assert found[0].ts >= START + timedelta(days=21, hours=7)  # not before the usual rise
    assert found[0].ts <= START + timedelta(days=21, hours=11)


def _night_wander(home: list[HomeEvent], day: int) -> tuple[list[HomeEvent], datetime]:
    """Bed exit at 01:00, walking about in the kitchen (not silent) for 90 min, then back to bed."""
    exit_ts = START + timedelta(days=day, hours=1)
    events = cut(home, exit_ts - timedelta(minutes=1), 3)
    events.append(_ev(exit_ts, "bed", "bed", "bedroom", 0))
    events += [_ev(exit_ts + timedelta(minutes=m), "pir-kitchen", "motion", "kitchen") for m in range(1, 90, 4)]
    events.append(_ev(exit_ts + timedelta(minutes=90), "bed", "bed", "bedroom", 1))
    return sorted(events, key=lambda e: e.ts), exit_ts


def test_bed_exit_at_night_flagged_for_fall_risk_only(home: list[HomeEvent]) -> None:
    events, exit_ts = _night_wander(home, 20)
    until = exit_ts + timedelta(hours=3)
    risk = HomeActivityMonitor(ResidentProfile(fall_risk=True, bed_exit_minutes=20)).replay(events, until=until)
    plain = HomeActivityMonitor(ResidentProfile(fall_risk=False)).replay(events, until=until)
    exits = [a for a in risk if a.type == "bed_exit_night"]
    assert len(exits) == 1 and exits[0].ts - exit_ts == timedelta(minutes=20)
    assert exits[0].severity is Severity.CRITICAL  # urgent, bumped: lives alone
    assert [a for a in plain if a.type == "bed_exit_night"] == []
    # Both are told the person did not go back to bed during the usual sleep hours.
    assert [a.type for a in plain if a.ts >= exit_ts] == ["not_back_in_bed"]


def test_priority_bump_only_for_alone_or_empty_nest(home: list[HomeEvent]) -> None:
    t = START + timedelta(days=20, hours=10)
    events = cut(home, t, 4)
    with_family = HomeActivityMonitor(ResidentProfile(lives_alone=False)).replay(events, until=t + timedelta(hours=4))
    empty_nest = HomeActivityMonitor(ResidentProfile(lives_alone=False, empty_nest=True)).replay(
        events, until=t + timedelta(hours=4)
    )
    assert silence_alerts(with_family, t)[0].severity is Severity.WARNING
    assert silence_alerts(empty_nest, t)[0].severity is Severity.URGENT


def test_snapshot_restore_mid_silence_keeps_the_clock(home: list[HomeEvent]) -> None:
    t = START + timedelta(days=20, hours=10)
    events = cut(home, t, 6)
    until = t + timedelta(hours=6)
    reference = silence_alerts(HomeActivityMonitor().replay(events, until=until), t)
    assert reference

    restart = t + timedelta(minutes=30)  # mid-silence, before the alert
    assert reference[0].ts > restart
    before = HomeActivityMonitor()
    assert silence_alerts(before.replay([e for e in events if e.ts <= restart], until=restart), t) == []
    state = json.loads(json.dumps(before.snapshot()))  # must survive a JSON round trip
    resumed = HomeActivityMonitor.restore(state).replay([e for e in events if e.ts > restart], until=until)
    assert [(a.ts, a.type, a.severity) for a in silence_alerts(resumed, t)] == [
        (a.ts, a.type, a.severity) for a in reference
    ]

    rebuilt = HomeActivityMonitor.from_history([e for e in events if e.ts <= restart], now=restart)
    again = rebuilt.replay([e for e in events if e.ts > restart], until=until)
    assert [a.ts for a in silence_alerts(again, t)] == [a.ts for a in reference]


def test_alert_is_json_able(home: list[HomeEvent]) -> None:
    t = START + timedelta(days=20, hours=10)
    alert = silence_alerts(HomeActivityMonitor().replay(cut(home, t, 4), until=t + timedelta(hours=4)), t)[0]
    data = json.loads(json.dumps(alert.to_dict(), ensure_ascii=False))
    assert data["type"] == "inactivity" and data["severity"] == "urgent"
    assert data["evidence"]["p_silence"] < data["evidence"]["alpha"]


# --- the real homes (Ordóñez A and B) ------------------------------------------------------------------------


def _data_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    root = Path(os.environ.get("ELDERCARE_SHARED_DATA", default)) / "activity-ordonez"
    # Missing data must fail loudly, never skip: these are the acceptance figures.
    assert (root / "homeA.csv").exists(), f"real home data not found under {root} (set ELDERCARE_SHARED_DATA)"
    return root


def _cuts(events: list[HomeEvent], hours: range) -> list[datetime]:
    """Cut times on every day after a 2-day warm-up, at the given hours."""
    first = datetime.combine(events[0].ts.date(), datetime.min.time()) + timedelta(days=2)
    out = []
    while first + timedelta(hours=max(hours) + 1) < events[-1].ts:
        out += [first + timedelta(hours=h) for h in hours]
        first += timedelta(days=1)
    return out


@pytest.fixture(scope="module", params=["homeA", "homeB"])
def real_home(request: pytest.FixtureRequest) -> tuple[str, list[HomeEvent], int]:
    path = _data_dir() / f"{request.param}.csv"
    return request.param, read_events(path), read_residents(path)


def test_real_home_false_alerts_at_most_one_per_resident_per_30_days(real_home) -> None:
    name, events, residents = real_home
    result = evaluate(events, residents=residents)
    per_30 = 30 * result.alerts_per_resident_day
    # Nothing abnormal happened in these homes (labels: sleeping, TV, leaving...), so every alert is false.
    assert per_30 <= 1.0, (name, [(a.ts, a.type) for a in result.alerts])


@pytest.fixture(scope="module")
def real_latencies(real_home):
    name, events, _ = real_home
    results = injected_silences(events, _cuts(events, range(8, 22)), horizon=timedelta(hours=8))
    # "Normally active hours": the person is up and about at home (not in bed, on the sofa or out) at the cut.
    return name, [r for r in results if r.context not in {"bed", "seat", "away"}]


# What the method reaches on these homes (docs/detection-activity.md), minus about two cuts: a regression guard.
_REACHED = {"homeA": {"median": 90, "two_hours": 0.85}, "homeB": {"median": 115, "two_hours": 0.55}}


def test_real_home_injected_silences_are_detected(real_latencies) -> None:
    """Regression guard on what the method achieves on these sparse homes (figures in docs/detection-activity.md)."""
    name, active = real_latencies
    latencies = [r.latency_minutes if r.latency_minutes is not None else float("inf") for r in active]
    assert len(active) >= 20, name
    assert statistics.median(latencies) <= _REACHED[name]["median"], (name, sorted(latencies))
    assert sum(lat <= 120 for lat in latencies) / len(latencies) >= _REACHED[name]["two_hours"], (name, latencies)
    assert sum(lat <= 8 * 60 for lat in latencies) / len(latencies) >= 0.9, (name, sorted(latencies))


@pytest.mark.xfail(
    strict=True,
    reason="acceptance bound not met on homes A/B: at <= 1 false alert/30 days on every home we have (learned "
    "heavy tails), 2 of 27 (A) and 39 of 91 (B) silences injected while the person is up and about are flagged "
    "after 2 h: B's living room has normal unsensed quiet spells of up to 1.8 h by day, longer in the evening; "
    "see docs/detection-activity.md",
)
def test_real_home_injected_silence_acceptance_two_hours(real_latencies) -> None:
    name, active = real_latencies
    late = [
        (r.cut, r.context, r.latency_minutes) for r in active if r.latency_minutes is None or r.latency_minutes > 120
    ]
    assert late == [], name


# --- regression tests of the eval-scenario recall fixes (docs/alerts.md, "after recall fixes") ----------------


def test_no_morning_rise_when_the_pad_misses_the_sleeper_in_the_bedroom(home: list[HomeEvent]) -> None:
    """The pad goes empty at the usual wake time but the person never leaves the bedroom (light stirring seen by
    the bedroom PIR every few minutes until noon): not up for the day, so no_morning_rise; PIR events there do
    not end the night stay. Leaving the bedroom (kitchen) is getting up: no alert."""
    day = START + timedelta(days=21)
    events = cut(home, day + timedelta(hours=5), 7)
    pad_empty = day + timedelta(hours=6, minutes=40)
    stirring = [_ev(pad_empty + timedelta(minutes=m), "pir-bed", "motion", "bedroom") for m in range(1, 320, 7)]
    stay = sorted([*events, _ev(pad_empty, "bed", "bed", "bedroom", 0), *stirring], key=lambda e: e.ts)
    alerts = HomeActivityMonitor().replay(stay, until=day + timedelta(hours=12))
    found = [a for a in alerts if a.type == "no_morning_rise" and a.ts >= day]
    assert found, [(a.ts, a.type) for a in alerts if a.ts >= day]
    assert day + timedelta(hours=7) <= found[0].ts <= day + timedelta(hours=10), found[0].ts
    assert found[0].evidence["pad_occupied"] is False and "outside the bedroom" in found[0].explanation_en

    up = sorted([*stay, _ev(pad_empty + timedelta(minutes=20), "pir-kitchen", "motion", "kitchen")], key=lambda e: e.ts)
    alerts = HomeActivityMonitor().replay(up, until=day + timedelta(hours=12))
    assert [a for a in alerts if a.type == "no_morning_rise" and a.ts >= day] == []


def test_bathroom_stay_while_still_moving_is_prolonged(home: list[HomeEvent]) -> None:
    """A 90 min bathroom stay with the PIR firing every 2 min (never silent): bathroom_prolonged once the stay
    exceeds max(45 min, 1.5 x the longest usual visit); the normal routine's visits never trigger it."""
    t = START + timedelta(days=20, hours=10)
    events = cut(home, t, 2)
    events += [_ev(t + timedelta(minutes=m), "pir-bathroom", "motion", "bathroom") for m in range(0, 90, 2)]
    mon = HomeActivityMonitor()
    alerts = mon.replay(sorted(events, key=lambda e: e.ts), until=t + timedelta(hours=2))
    found = [a for a in alerts if a.type == "bathroom_prolonged" and a.ts >= t]
    assert found, [(a.ts, a.type) for a in alerts if a.ts >= t]
    assert t + timedelta(minutes=45) <= found[0].ts <= t + timedelta(minutes=75), found[0].ts
    assert "still moving" in found[0].explanation_en and found[0].severity is Severity.CRITICAL
    assert [a for a in alerts if a.type == "bathroom_prolonged" and a.ts < t] == []
    restored = HomeActivityMonitor.restore(json.loads(json.dumps(mon.snapshot())))
    assert restored.bath_visit_minutes == mon.bath_visit_minutes


def test_bathroom_off_edge_and_long_gaps_do_not_join_visits() -> None:
    """An "off" edge in the bathroom (radar: nobody there any more) after the person went to the bedroom, and a
    visit an hour later, are two short visits, not one stay of an hour."""
    t = START + timedelta(hours=23, minutes=50)
    events = [
        _ev(t, "pir-bathroom", "motion", "bathroom"),
        _ev(t + timedelta(minutes=6), "pir-bed", "motion", "bedroom"),
        _ev(t + timedelta(minutes=6, seconds=3), "radar-bath", "motion", "bathroom", 0),
    ]
    later = t + timedelta(hours=1, minutes=10)
    events += [_ev(later + timedelta(minutes=m), "pir-bathroom", "motion", "bathroom") for m in range(0, 8, 2)]
    alerts = HomeActivityMonitor().replay(events, until=later + timedelta(minutes=30))
    assert [a for a in alerts if a.type == "bathroom_prolonged"] == []


def test_an_off_edge_does_not_move_the_silence_to_its_room(home: list[HomeEvent]) -> None:
    """A sensor clearing after the person moved on says where they *were*. Into bed at 20:49 while the bathroom
    radar reports "nobody here" in the same second: the silence is a night in bed, not a 43 min bathroom stay
    (seen in the simulator's scenario run). A hall PIR clearing after the front door: still out, not at home."""
    t = START + timedelta(days=20, hours=20, minutes=49)
    events = cut(home, t - timedelta(minutes=10), 10)
    events += [
        _ev(t - timedelta(minutes=10), "pir-bathroom", "motion", "bathroom"),
        _ev(t, "pir-bedroom", "motion", "bedroom"),
        _ev(t + timedelta(seconds=2), "bed", "bed", "bedroom", 1),
        _ev(t + timedelta(seconds=2), "radar-bath", "motion", "bathroom", 0),
    ]
    mon = HomeActivityMonitor()
    end = t + timedelta(hours=2)
    alerts = mon.replay(sorted((e for e in events if e.ts <= end), key=lambda e: e.ts), until=end)
    assert mon.context == "bed"
    assert [a for a in alerts if a.ts >= t and a.type in ("bathroom_prolonged", "inactivity")] == []
    out = START + timedelta(days=20, hours=10)
    events = cut(home, out, 6)
    events += [
        _ev(out - timedelta(seconds=20), "pir-hall", "motion", "hall", 1),
        _ev(out, "front", "door", "entrance", 1),
        _ev(out + timedelta(seconds=10), "front", "door", "entrance", 0),
        _ev(out + timedelta(seconds=40), "pir-hall", "motion", "hall", 0),
    ]
    mon = HomeActivityMonitor()
    end = out + timedelta(hours=6)
    alerts = mon.replay(sorted((e for e in events if e.ts <= end), key=lambda e: e.ts), until=end)
    assert mon.context == "away" and silence_alerts(alerts, out) == []


# --- heavy-tailed silences (alerts/tails.py) and doorways ----------------------------------------------------


def resting_home(days: int = 28, seed: int = 5) -> list[HomeEvent]:
    """A sparse home like many real ones: kitchen and bathroom sensors, nothing where the person rests.

    By day the person is busy in the kitchen (a bout every ~10 min) and, several times a day, passes the hall
    door and rests somewhere unsensed for a lognormal time (median 20 min, often 1-2 h, at most 230 min) -- so
    the quiet spells after a hall-door event are mostly short pauses and sometimes very long: a heavy tail that
    a single Poisson rate gets badly wrong.
    """
    rng = random.Random(seed)
    out: list[HomeEvent] = []
    for d in range(days):
        day = START + timedelta(days=d)
        t = day + timedelta(hours=7, minutes=rng.randint(0, 30))
        end = day + timedelta(hours=22)
        while t < end:
            if rng.random() < 0.12:
                out.append(_ev(t, "hall-door", "other", "hall", 1))
                out.append(_ev(t + timedelta(seconds=5), "hall-door", "other", "hall", 0))
                t += timedelta(minutes=min(230.0, rng.lognormvariate(3.0, 1.3)))
            else:
                out.append(_ev(t, "cupboard", "cabinet", "kitchen", 1))
                out.append(_ev(t + timedelta(seconds=4), "cupboard", "cabinet", "kitchen", 0))
                t += timedelta(minutes=2) + timedelta(hours=rng.expovariate(6.0))
        night = day + timedelta(days=1, hours=2, minutes=rng.randint(0, 60))
        out.append(_ev(night, "flush", "toilet", "bathroom", 1))
        out.append(_ev(night + timedelta(seconds=20), "flush", "toilet", "bathroom", 0))
    return sorted(out, key=lambda e: e.ts)


def test_lomax_survival_limits() -> None:
    assert lomax_survival(3.0, 1e9) == pytest.approx(math.exp(-3.0))
    assert lomax_survival(3.0, 1e6) == pytest.approx(math.exp(-3.0), rel=1e-4)
    assert lomax_survival(3.0, 1.0) == pytest.approx(0.25)
    # heavier tail = the same Λ is less surprising
    assert lomax_survival(8.0, 2.0) > lomax_survival(8.0, 20.0) > math.exp(-8.0)


def test_tail_model_learns_heavy_and_light_tails() -> None:
    """Λ at the end of a silence is Exp(1) for Poisson silences and Lomax(k) for a Gamma(k) frailty: the posterior
    finds each, and a context borrows the group's evidence only in part."""
    rng = random.Random(7)
    light, heavy = TailModel(group_weight=0.0), TailModel(group_weight=0.0)
    for _ in range(400):
        light.observe("kitchen", rng.expovariate(1.0))
        z = rng.gammavariate(2.0, 0.5)  # frailty with mean 1, shape 2
        heavy.observe("living", rng.expovariate(1.0) / z)
    assert light.typical_k("kitchen") >= 20
    assert 1.0 <= heavy.typical_k("living") <= 5.0
    assert heavy.survival("living", 8.0) > 10 * light.survival("kitchen", 8.0)
    # JSON round trip keeps the evidence
    again = TailModel(group_weight=0.0)
    again.restore(json.loads(json.dumps(heavy.snapshot())))
    assert again.weights("living") == pytest.approx(heavy.weights("living"))
    assert len(again.weights("living")) == len(K_GRID)
    # a version-1 snapshot (all day, one row per context) seeds every part of the day
    old = {"loglik": {"living": heavy.snapshot()["loglik"]["living@1"]}, "count": {"living": 400}}
    seeded = TailModel(group_weight=0.0)
    seeded.restore(old)
    assert seeded.weights("living", 3) == pytest.approx(heavy.weights("living", 1))


def test_tail_is_learned_per_part_of_the_day() -> None:
    """Evening silences heavy-tailed (TV), morning ones Poisson: each part of the day keeps its own tail, so a
    morning silence is not judged by the evening's long quiet spells."""
    rng = random.Random(11)
    tails = TailModel()
    for _ in range(300):
        tails.observe("kitchen", rng.expovariate(1.0), band=1)
        tails.observe("living", rng.expovariate(1.0) / rng.gammavariate(2.0, 0.5), band=3)
    assert tails.typical_k("living", 1) >= 20 and tails.typical_k("kitchen", 3) <= 5
    assert tails.survival("living", 8.0, band=3) > 10 * tails.survival("living", 8.0, band=1)
    pooled = TailModel(band_weight=1.0)  # one tail for the whole day, as before: the morning inherits the evening
    for row_key, row in tails.loglik.items():
        pooled.loglik[row_key] = list(row)
    assert pooled.survival("kitchen", 8.0, band=1) > 5 * tails.survival("kitchen", 8.0, band=1)


def test_heavy_tailed_home_stays_within_budget_where_poisson_does_not() -> None:
    """Long unsensed rests are normal in these homes: the learned tail keeps them within the false-alert limit,
    while the same detector with the tail correction switched off (a single Poisson rate) exceeds it."""
    calibrated, poisson, days = [], [], 0.0
    for seed in (5, 6, 7):
        events = resting_home(seed=seed)
        calibrated += HomeActivityMonitor().replay(events, until=events[-1].ts)
        plain = HomeActivityMonitor(config=DetectorConfig(tail_calibration=False))
        poisson += plain.replay(events, until=events[-1].ts)
        days += (events[-1].ts - events[0].ts).total_seconds() / 86400
    assert 30 * len(calibrated) / days <= 1.0, [(a.ts, a.type) for a in calibrated]
    assert 30 * len(poisson) / days > 1.5, [(a.ts, a.type) for a in poisson]


def test_heavy_tailed_home_still_flags_a_day_long_silence() -> None:
    events = resting_home()
    t = START + timedelta(days=24, hours=10)
    alerts = HomeActivityMonitor().replay(cut(events, t, 10), until=t + timedelta(hours=10))
    found = silence_alerts(alerts, t)
    assert found and found[0].ts - t <= timedelta(hours=6), found[:1]
    assert found[0].evidence["tail_k"] <= 20


def test_inner_doors_are_doorways_and_exits_are_away() -> None:
    def context_after(ev: HomeEvent) -> str:
        mon = HomeActivityMonitor()
        mon.on_event(_ev(START + timedelta(hours=10), "pir-kitchen", "motion", "kitchen"))
        mon.on_event(ev)
        return mon.context

    t = START + timedelta(hours=10, minutes=1)
    # a bathroom door says someone passed the doorway, not that they are inside
    assert context_after(HomeEvent(t, "Hall-Bathroom door", "other", "bathroom", 1)) == "hall"
    assert context_after(HomeEvent(t, "Hall-Bathroom door", "door", "bathroom", 0)) == "hall"
    assert HomeEvent(t, "Hall-Bathroom door", "other", "bathroom", 0).is_human  # closing a door is a hand on it
    # the front door (whatever room it is filed under) means going out
    assert context_after(HomeEvent(t, "Maindoor", "door", "entrance", 1)) == "away"
    assert context_after(HomeEvent(t, "Frontdoor", "door", "hall", 1)) == "away"
    assert context_after(HomeEvent(t, "Kitchen back door", "door", "kitchen", 1)) == "away"
    assert context_after(HomeEvent(t, "Foyer Door 140", "other", "hall", 1)) == "away"
    assert context_after(HomeEvent(t, "Bedroom door", "other", "bedroom", 1)) == "hall"
    # furniture doors are furniture; the live path's registry flag wins over names
    assert HomeEvent(t, "Fridge door", "other", "kitchen", 1).doorway is None
    assert context_after(HomeEvent(t, "Fridge door", "other", "kitchen", 1)) == "kitchen"
    assert HomeEvent(t, "d-17", "door", "hall", 1, exit=False).doorway == "interior"
    assert HomeEvent(t, "d-18", "door", "living", 1, exit=True).doorway == "exterior"
