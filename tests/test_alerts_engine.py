"""The detection engine, pure: no broker, no database (its adapter is covered by test_alerts_live.py)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from alerts.alert import Alert, Severity
from alerts.context import DeviceMeta, Registry, ResidentInfo, RoomInfo, SiteInfo, ZoneMeta
from alerts.convert import Reading
from alerts.engine import DetectionEngine, EngineConfig
from alerts.records import StoredAlert
from alerts.snapshot import restore_site, site_snapshot
from devices.payloads import (
    AccelTelemetry,
    BedTelemetry,
    BleTelemetry,
    FallEvent,
    Message,
    MotionTelemetry,
    PresenceTelemetry,
    SosEvent,
    StatusMessage,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def registry(*, lives_alone: bool = True) -> Registry:
    return Registry.build(
        sites=[SiteInfo("h1", "home"), SiteInfo("f1", "facility")],
        rooms=[
            RoomInfo("h1-bed", "h1", "bedroom"),
            RoomInfo("h1-kit", "h1", "kitchen"),
            RoomInfo("h1-ent", "h1", "entrance"),
        ],
        zones=[
            ZoneMeta("z-secure", "f1", secure=True),
            ZoneMeta("z-hall", "f1"),
            ZoneMeta("z-exit", "f1", is_exit=True),
            ZoneMeta("z-garden", "f1"),
        ],
        residents=[
            ResidentInfo("r1", "h1", lives_alone=lives_alone, fall_risk="high", bed_id="b1"),
            ResidentInfo("r2", "f1", dementia=True, ble_tag="tag-2"),
            ResidentInfo("r3", "f1", ble_tag="tag-3"),
        ],
        devices=[
            DeviceMeta("radar-1", "radar", "h1", room_id="h1-bed"),
            DeviceMeta("pir-bed", "pir", "h1", room_id="h1-bed", safety_critical=True, heartbeat_s=60, created_at=T0),
            DeviceMeta("pir-kit", "pir", "h1", room_id="h1-kit"),
            DeviceMeta("bed-1", "bed_sensor", "h1", bed_id="b1"),
            DeviceMeta("wear-1", "wearable", "h1", resident_id="r1"),
            DeviceMeta("gw-secure", "ble_gateway", "f1", zone_id="z-secure"),
            DeviceMeta("gw-hall", "ble_gateway", "f1", zone_id="z-hall"),
            DeviceMeta("gw-exit", "ble_gateway", "f1", zone_id="z-exit"),
            DeviceMeta("gw-garden", "ble_gateway", "f1", zone_id="z-garden"),
        ],
        bed_rooms={"b1": "h1-bed"},
    )


class Clock:
    def __init__(self) -> None:
        self.n = 0

    def reading(self, device: str, model: type[Message], ts: datetime, **fields: object) -> Reading:
        self.n += 1
        kind = model.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
        msg = model.model_validate({"v": 1, "id": f"m{self.n}", "ts": ts.isoformat(), "kind": kind, **fields})
        return Reading(device, kind, ts, msg)


@pytest.fixture
def eng() -> DetectionEngine:
    return DetectionEngine(registry(), EngineConfig(), now=T0)


@pytest.fixture
def mk() -> Clock:
    return Clock()


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_radar_fall_event_high_confidence_alerts_with_bump_and_explanations(eng: DetectionEngine, mk: Clock) -> None:
    alerts = eng.process(mk.reading("radar-1", FallEvent, at(0), confidence=0.95, on_floor=True))
    assert [a.type for a in alerts] == ["fall"]
    a = alerts[0]
    assert a.severity is Severity.CRITICAL  # urgent, +1 because r1 lives alone
    assert a.evidence["priority_bump"] == 1 and a.evidence["base_severity"] == "urgent"
    assert a.resident_id == "r1" and a.site_id == "h1" and a.ts == at(0)
    assert "跌倒" in a.explanation_zh and "fall" in a.explanation_en and "0.95" in a.explanation_en


def test_no_bump_when_not_alone() -> None:
    eng = DetectionEngine(registry(lives_alone=False), now=T0)
    alerts = eng.process(Clock().reading("radar-1", FallEvent, at(0), confidence=0.95))
    assert alerts[0].severity is Severity.URGENT


def test_fusion_low_confidence_needs_corroboration(eng: DetectionEngine, mk: Clock) -> None:
    # Mid confidence, kitchen motion 10 s earlier (someone up and about elsewhere): vetoed.
    eng.process(mk.reading("pir-kit", MotionTelemetry, at(-10), motion=True))
    assert eng.process(mk.reading("radar-1", FallEvent, at(0), confidence=0.5)) == []
    # Mid confidence, radar sees a person on the floor: accepted as corroborated.
    eng2 = DetectionEngine(registry(), now=T0)
    eng2.process(mk.reading("radar-1", PresenceTelemetry, at(1), present=True, posture="lying", on_floor=True))
    alerts = eng2.process(mk.reading("radar-1", FallEvent, at(2), confidence=0.5))
    assert alerts and alerts[0].evidence["reason"] == "corroborated"
    assert eng2.process(mk.reading("radar-1", FallEvent, at(3), confidence=0.1)) == []


def test_fall_dedup_within_cooldown(eng: DetectionEngine, mk: Clock) -> None:
    assert len(eng.process(mk.reading("radar-1", FallEvent, at(0), confidence=0.9))) == 1
    assert eng.process(mk.reading("wear-1", FallEvent, at(5), confidence=0.9)) == []  # same fall, 2nd device
    assert len(eng.process(mk.reading("radar-1", FallEvent, at(200), confidence=0.9))) == 1  # cooldown over


def test_sos_is_critical(eng: DetectionEngine, mk: Clock) -> None:
    alerts = eng.process(mk.reading("wear-1", SosEvent, at(0), long_press=True))
    assert [(a.type, a.severity) for a in alerts] == [("sos", Severity.CRITICAL)]
    assert "紧急呼叫" in alerts[0].explanation_zh and "SOS" in alerts[0].explanation_en
    assert eng.process(mk.reading("wear-1", SosEvent, at(10))) == []  # pressed again: one alert


def test_long_lie_stages_escalate_on_the_clock(eng: DetectionEngine, mk: Clock) -> None:
    eng.process(mk.reading("radar-1", FallEvent, at(0), confidence=0.95, on_floor=True))
    assert [a for a in eng.tick(at(29)) if a.type == "long_lie"] == []
    s1 = [a for a in eng.tick(at(31)) if a.type == "long_lie"]
    assert [a.evidence["stage"] for a in s1] == [1] and s1[0].ts == at(30)
    assert [a for a in eng.tick(at(60)) if a.type == "long_lie"] == []
    s2 = [a for a in eng.tick(at(121)) if a.type == "long_lie"]
    assert s2[0].evidence["stage"] == 2 and s2[0].severity.rank >= s1[0].severity.rank
    # A long outage of the clock: stages 3 and 4 crossed at once -> only stage 4, the others noted.
    s4 = [a for a in eng.tick(at(4000)) if a.type == "long_lie"]
    assert [a.evidence["stage"] for a in s4] == [4] and s4[0].evidence["skipped_stages"] == [3]
    assert s4[0].severity is Severity.CRITICAL and s4[0].ts == at(3600)
    assert "1 小时" in s4[0].explanation_zh and "1 hour" in s4[0].explanation_en


@pytest.mark.parametrize(
    ("device", "model", "fields"),
    [
        ("radar-1", PresenceTelemetry, {"present": True, "posture": "standing", "on_floor": False}),
        ("pir-kit", MotionTelemetry, {"motion": True}),  # motion in another room
        ("bed-1", BedTelemetry, {"occupied": True}),
    ],
)
def test_long_lie_cancelled_by_recovery(
    eng: DetectionEngine, mk: Clock, device: str, model: type, fields: dict[str, object]
) -> None:
    eng.process(mk.reading("radar-1", PresenceTelemetry, at(0), present=True, posture="lying", on_floor=True))
    eng.process(mk.reading(device, model, at(2), **fields))  # within the grace: part of the fall itself
    assert [a.evidence["stage"] for a in eng.tick(at(31)) if a.type == "long_lie"] == [1]
    eng.process(mk.reading(device, model, at(40), **fields))
    resolved = eng.take_resolved()
    assert [r.type for r in resolved] == ["long_lie"]
    assert [a for a in eng.tick(at(200)) if a.type == "long_lie"] == []


def test_motion_in_the_same_room_does_not_cancel(eng: DetectionEngine, mk: Clock) -> None:
    eng.process(mk.reading("radar-1", PresenceTelemetry, at(0), present=True, posture="lying", on_floor=True))
    eng.process(mk.reading("pir-bed", MotionTelemetry, at(20), motion=True))  # arm waving on the floor
    assert [a.evidence["stage"] for a in eng.tick(at(31)) if a.type == "long_lie"] == [1]


def _fall_stream(t0: float, seconds: float = 12.0, rate: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """Upright still, free fall, a 4 g impact at t0+4 s, then lying still on the side."""
    t = t0 + np.arange(int(seconds * rate)) / rate
    acc = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    rel = t - t0
    acc[(rel >= 3.5) & (rel < 4.0)] = [0.0, 0.0, 0.2]
    acc[(rel >= 4.0) & (rel < 4.06)] = [0.5, 0.5, 4.0]
    acc[rel >= 4.06] = [1.0, 0.0, 0.05]
    return t, acc


def test_accelerometer_fall_then_walking_ends_the_long_lie(eng: DetectionEngine, mk: Clock) -> None:
    t, acc = _fall_stream(T0.timestamp())
    alerts = []
    for i in range(0, t.size, 50):  # 1 s batches
        ts = datetime.fromtimestamp(t[i], UTC)
        alerts += eng.process(
            mk.reading(
                "wear-1", AccelTelemetry, ts, rate_hz=50.0, unit="g", samples=[tuple(x) for x in acc[i : i + 50]]
            )
        )
    falls = [a for a in alerts if a.type == "fall"]
    assert len(falls) == 1 and falls[0].evidence["source"] == "accelerometer"
    assert abs((falls[0].ts - at(4)).total_seconds()) < 0.1
    assert "g" in falls[0].explanation_en and "冲击" in falls[0].explanation_zh
    # walking 20 s later: |a| varies a lot
    tw = at(25)
    walk = [(0.1, 0.0, 1.0 + 0.6 * np.sin(2 * np.pi * 2 * k / 50)) for k in range(50)]
    eng.process(mk.reading("wear-1", AccelTelemetry, tw, rate_hz=50.0, unit="g", samples=walk))
    assert [r.reason for r in eng.take_resolved()] == ["wearable walking"]


def test_device_silence_and_return(eng: DetectionEngine, mk: Clock) -> None:
    eng.process(mk.reading("pir-bed", MotionTelemetry, at(0), motion=True))
    assert [a for a in eng.tick(at(59)) if a.type == "device_silent"] == []
    alerts = [a for a in eng.tick(at(61)) if a.type == "device_silent"]
    assert len(alerts) == 1 and alerts[0].ts == at(60) and alerts[0].evidence["device_id"] == "pir-bed"
    assert "防护中断" in alerts[0].explanation_zh and "Protection lost" in alerts[0].explanation_en
    assert [a for a in eng.tick(at(200)) if a.type == "device_silent"] == []  # once per silence
    eng.process(mk.reading("pir-bed", MotionTelemetry, at(300), motion=False))
    assert [(r.type, r.device_id) for r in eng.take_resolved()] == [("device_silent", "pir-bed")]
    # last will: immediate
    alerts = eng.process(mk.reading("pir-bed", StatusMessage, at(310), state="offline"))
    assert [a.type for a in alerts] == ["device_silent"] and alerts[0].evidence["offline"] is True


def test_restart_restores_silence_clock_and_open_alerts(mk: Clock) -> None:
    eng = DetectionEngine(registry(), now=at(100))  # restarted later: created_at T0 is the clock origin
    eng.restore_devices({"pir-bed": at(30)})
    assert [a for a in eng.tick(at(89)) if a.type == "device_silent"] == []
    alerts = [a for a in eng.tick(at(91)) if a.type == "device_silent"]
    assert alerts and alerts[0].ts == at(90)
    eng2 = DetectionEngine(registry(), now=at(100))
    eng2.restore_devices({"pir-bed": at(30)})
    eng2.restore_alerts([StoredAlert("h1", "device_silent", at(90), "open", "r1", "pir-bed")], at(100))
    assert [a for a in eng2.tick(at(120)) if a.type == "device_silent"] == []  # already reported


def test_restart_resumes_long_lie_at_the_next_stage(mk: Clock) -> None:
    row = StoredAlert(
        "h1", "long_lie", at(30), "open", "r1", "radar-1", 1,
        {"subject": "r1", "start": at(0).isoformat(), "cause": "fall", "room_id": "h1-bed"},
    )  # fmt: skip
    eng = DetectionEngine(registry(), now=at(60))
    eng.restore_alerts([row], at(60))
    assert [a for a in eng.tick(at(61)) if a.type == "long_lie"] == []
    s = [a for a in eng.tick(at(121)) if a.type == "long_lie"]
    assert [a.evidence["stage"] for a in s] == [2] and s[0].ts == at(120)


def test_zone_exit_and_night_wandering_for_dementia_only(eng: DetectionEngine, mk: Clock) -> None:
    def seen(gw: str, tag: str, s: float) -> list[Alert]:
        return eng.process(mk.reading(gw, BleTelemetry, at(s), tag=tag, zone="x", rssi=-60))

    assert seen("gw-secure", "tag-2", 0) == []
    left = seen("gw-hall", "tag-2", 10)
    assert [a.type for a in left] == ["zone_exit"] and left[0].evidence["left_secure"] is True
    assert "安全照护区" in left[0].explanation_zh and "secure zone" in left[0].explanation_en
    assert seen("gw-exit", "tag-3", 10) == []  # no dementia: no zone alerts
    # exit within the cooldown: de-duplicated
    assert seen("gw-exit", "tag-2", 20) == []
    # night (local 23:00 = 15:00 UTC): moving between zones
    night = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    out = []
    for i, gw in enumerate(["gw-garden", "gw-hall", "gw-garden", "gw-hall"]):
        out += eng.process(mk.reading(gw, BleTelemetry, night + timedelta(minutes=i), tag="tag-2", zone="x", rssi=-60))
    assert "night_wandering" in [a.type for a in out]


def test_inactivity_monitor_is_fed_in_local_time(eng: DetectionEngine, mk: Clock) -> None:
    eng.process(mk.reading("pir-kit", MotionTelemetry, at(0), motion=True))
    mon = eng.sites["h1"].monitors["home"]
    assert mon.last_human == datetime(2026, 3, 2, 10, 0)  # Asia/Shanghai wall clock
    assert mon.context == "kitchen"
    # cold start: a very long silence in the kitchen during the day becomes an inactivity alert eventually
    alerts = []
    for m in range(1, 6 * 60):
        alerts += eng.tick(at(m * 60))
    inact = [a for a in alerts if a.type == "inactivity"]
    assert inact and inact[0].ts.tzinfo is not None and inact[0].site_id == "h1"
    assert inact[0].explanation_zh and inact[0].explanation_en


def test_snapshot_restore_keeps_the_silence_clock_and_edges(eng: DetectionEngine, mk: Clock) -> None:
    eng.process(mk.reading("pir-kit", MotionTelemetry, at(0), motion=True))
    eng.process(mk.reading("bed-1", BedTelemetry, at(10), occupied=False))
    eng.tick(at(120))
    snap = site_snapshot(eng, "h1")
    assert snap is not None and site_snapshot(eng, "f1") is None
    restored = DetectionEngine(registry(), now=at(130))
    since = restore_site(restored, "h1", json.loads(json.dumps(snap)))  # through JSON, as stored
    assert since == at(120)
    mon = restored.sites["h1"].monitors["home"]
    assert mon.last_human == eng.sites["h1"].monitors["home"].last_human
    # the bed pad's level is remembered: the same level again is not a new (human) event
    restored.process(mk.reading("bed-1", BedTelemetry, at(140), occupied=False))
    assert mon.last_human == datetime(2026, 3, 2, 10, 0, 10)


def test_snapshot_restore_keeps_who_is_in_the_secure_zone(eng: DetectionEngine, mk: Clock) -> None:
    """A restart between the last sighting in the secure zone and the first one outside it: still a zone exit."""
    assert eng.process(mk.reading("gw-secure", BleTelemetry, at(0), tag="tag-2", zone="x", rssi=-60)) == []
    snap = site_snapshot(eng, "f1")
    assert snap is not None and snap["zones"]["r2"]["zone"] == "z-secure"
    restored = DetectionEngine(registry(), now=at(5))
    restore_site(restored, "f1", json.loads(json.dumps(snap)))
    left = restored.process(mk.reading("gw-hall", BleTelemetry, at(10), tag="tag-2", zone="x", rssi=-60))
    assert [a.type for a in left] == ["zone_exit"] and left[0].evidence["left_secure"] is True
    # without the snapshot the same sighting is only the first one seen: no "left the secure zone"
    fresh = DetectionEngine(registry(), now=at(5))
    assert fresh.process(mk.reading("gw-hall", BleTelemetry, at(10), tag="tag-2", zone="x", rssi=-60)) == []


# --- regressions found by the end-to-end scenario evaluation (docs/alerts.md) -------------------------------------


def _walk(ts: datetime, mk: Clock, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> Reading:
    samples = [tuple(np.array(up) * (1.0 + 0.5 * np.sin(2 * np.pi * 2 * k / 50))) for k in range(50)]
    return mk.reading("wear-1", AccelTelemetry, ts, rate_hz=50.0, unit="g", samples=samples)


def _still(ts: datetime, mk: Clock, g: tuple[float, float, float]) -> Reading:
    return mk.reading("wear-1", AccelTelemetry, ts, rate_hz=50.0, unit="g", samples=[g] * 50)


def test_wearable_back_upright_ends_the_long_lie(eng: DetectionEngine, mk: Clock) -> None:
    """A fall, 2 min on the floor, then sitting on a chair: too still for 'walking', but the trunk is upright."""
    eng.process(_walk(at(-20), mk))  # the reference: the orientation of the wearable while its wearer walks
    eng.process(mk.reading("wear-1", FallEvent, at(0), confidence=0.9, on_floor=True))
    eng.process(_still(at(30), mk, (1.0, 0.0, 0.05)))  # lying on the side: no recovery
    assert [a.evidence["stage"] for a in eng.tick(at(31)) if a.type == "long_lie"] == [1]
    assert eng.take_resolved() == []
    eng.process(_still(at(90), mk, (0.15, 0.0, 0.99)))  # sitting on a chair, ~9 deg from the walking posture
    assert [r.reason for r in eng.take_resolved()] == ["wearable upright"]
    assert [a for a in eng.tick(at(700)) if a.type == "long_lie"] == []


def test_wearable_posture_without_a_walking_reference_is_no_recovery(eng: DetectionEngine, mk: Clock) -> None:
    eng.process(mk.reading("wear-1", FallEvent, at(0), confidence=0.9, on_floor=True))
    eng.process(_still(at(60), mk, (0.0, 0.0, 1.0)))  # could be lying on the back with this mounting: unknown
    assert eng.take_resolved() == []


def _shared(kind: str) -> Registry:
    """Two residents, a radar in room A and a PIR in room B, in a home or a facility."""
    return Registry.build(
        sites=[SiteInfo("s", kind)],
        rooms=[RoomInfo("s-a", "s", "bedroom"), RoomInfo("s-b", "s", "living")],
        residents=[ResidentInfo("ra", "s", room_id="s-a"), ResidentInfo("rb", "s", room_id="s-b")],
        devices=[DeviceMeta("radar-a", "radar", "s", room_id="s-a"), DeviceMeta("pir-b", "pir", "s", room_id="s-b")],
    )


@pytest.mark.parametrize("kind", ["facility", "home"])
def test_stillness_elsewhere_does_not_corroborate_a_fall_where_others_live(kind: str, mk: Clock) -> None:
    """A radar's own mid-confidence false alarm at night in a facility: the other residents asleep is no evidence."""
    eng = DetectionEngine(_shared(kind), now=T0)
    assert eng.process(mk.reading("radar-a", FallEvent, at(0), confidence=0.6, on_floor=False)) == []
    # The radar seeing someone on the floor (for longer than the fusion window already) does corroborate.
    eng.process(mk.reading("radar-a", PresenceTelemetry, at(100), present=True, posture="lying", on_floor=True))
    alerts = eng.process(mk.reading("radar-a", FallEvent, at(200), confidence=0.6))
    assert [a.evidence["reason"] for a in alerts] == ["corroborated"]


def test_motion_of_another_resident_does_not_end_a_long_lie(mk: Clock) -> None:
    eng = DetectionEngine(_shared("home"), now=T0)
    eng.process(mk.reading("radar-a", FallEvent, at(0), confidence=0.9, on_floor=True))
    eng.process(mk.reading("pir-b", MotionTelemetry, at(40), motion=True))  # the other resident in the living room
    assert eng.take_resolved() == []
    assert [a.evidence["stage"] for a in eng.tick(at(121)) if a.type == "long_lie"] == [2]  # 1 and 2 at once


def test_bed_exit_night_ignores_the_morning_rise_and_naps() -> None:
    """Fall-risk resident in bed 22:00-05:50 and 13:00-13:58 every day: P(in bed) >= 0.7 at 05:xx and 13:xx.

    Getting up at 05:20 (a bit early) or at 13:20 from the nap is getting up for good, not a night bed exit;
    an exit at 02:00 not followed by a return is one.
    """
    from alerts.activity import HomeEvent, ResidentProfile
    from alerts.inactivity import HomeActivityMonitor

    day0 = datetime(2026, 3, 1)
    events = []
    for d in range(14):
        base = day0 + timedelta(days=d)
        for on, off in ((timedelta(hours=13), timedelta(hours=13, minutes=58)),
                         (timedelta(hours=22), timedelta(hours=29, minutes=50))):  # fmt: skip
            events += [
                HomeEvent(base + on, "bed-1", "bed", "bedroom", 1),
                HomeEvent(base + off, "bed-1", "bed", "bedroom", 0),
            ]

    def run(exit_at: timedelta) -> list[str]:
        mon = HomeActivityMonitor(ResidentProfile(fall_risk=True, bed_exit_minutes=20))
        test = day0 + timedelta(days=14)
        back = [e for e in events if e.ts < test] + [HomeEvent(test - timedelta(hours=2), "bed-1", "bed", "bedroom", 1)]
        if exit_at > timedelta(hours=12):
            back += [HomeEvent(test + timedelta(hours=5, minutes=50), "bed-1", "bed", "bedroom", 0),
                     HomeEvent(test + timedelta(hours=13), "bed-1", "bed", "bedroom", 1)]  # fmt: skip
        back.append(HomeEvent(test + exit_at, "bed-1", "bed", "bedroom", 0))
        mon.replay(back)
        return [a.type for a in mon.replay([], until=test + exit_at + timedelta(minutes=50))]

    assert "bed_exit_night" in run(timedelta(hours=2))
    assert "bed_exit_night" not in run(timedelta(hours=5, minutes=20))
    assert "bed_exit_night" not in run(timedelta(hours=13, minutes=20))


def test_night_wandering_inside_one_zone_is_seen_from_the_bed_pad(mk: Clock) -> None:
    """A dementia resident whose room and corridor are one BLE zone: walking about at night changes no zone, so
    the zone-change rule is blind. Out of bed inside the learned night (after a short toilet visit: the night
    goes on) for longer than the bed-exit limit, tag still seen: night_wandering. A toilet visit is not."""
    reg = Registry.build(
        sites=[SiteInfo("f1", "facility")],
        rooms=[RoomInfo("f1-r2", "f1", "bedroom")],
        zones=[ZoneMeta("z-floor", "f1", secure=True)],
        residents=[ResidentInfo("r2", "f1", dementia=True, ble_tag="tag-2", bed_id="fb2", room_id="f1-r2")],
        devices=[
            DeviceMeta("bed-2", "bed_sensor", "f1", bed_id="fb2"),
            DeviceMeta("gw-floor", "ble_gateway", "f1", zone_id="z-floor"),
        ],
        bed_rooms={"fb2": "f1-r2"},
    )
    night0 = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)  # 21:00 local

    def run(test_night: list[tuple[float, bool]]) -> list[Alert]:
        eng = DetectionEngine(reg, now=night0)
        for d in range(14):  # in bed 21:00-06:30 local every night
            base = night0 + timedelta(days=d)
            eng.process(mk.reading("bed-2", BedTelemetry, base, occupied=True))
            eng.process(mk.reading("bed-2", BedTelemetry, base + timedelta(hours=9.5), occupied=False))
        base = night0 + timedelta(days=14)
        eng.process(mk.reading("bed-2", BedTelemetry, base, occupied=True))
        out: list[Alert] = []
        for h, occupied in test_night:  # hours after 21:00
            out += eng.process(mk.reading("bed-2", BedTelemetry, base + timedelta(hours=h), occupied=occupied))
        t = base + timedelta(hours=4.5)  # 01:30 local
        while t < base + timedelta(hours=5.5):
            out += eng.process(mk.reading("gw-floor", BleTelemetry, t, tag="tag-2", zone="z-floor", rssi=-60))
            t += timedelta(minutes=3)
        return [a for a in out if a.type == "night_wandering"]

    short_visit = [(4.25, False), (4.4, True)]  # 01:15-01:24 toilet, back in bed
    found = run([*short_visit, (4.5, False)])  # up again at 01:30, not back
    assert len(found) == 1, found
    assert timedelta(minutes=20) <= found[0].ts - (night0 + timedelta(days=14, hours=4.5)) <= timedelta(minutes=25)
    assert found[0].resident_id == "r2" and found[0].evidence["bed_exit"].endswith("01:30:00")
    assert "Out of bed since 01:30" in found[0].explanation_en
    assert run([*short_visit, (4.5, False), (4.7, True)]) == []  # back in bed after 12 min


def _weak_fall(eng: DetectionEngine, mk: Clock, device: str = "wear-1") -> list[Alert]:
    """The resident last seen in the bedroom 2 min ago, then a mid-confidence fall event: only 'nobody moves'."""
    eng.process(mk.reading("pir-bed", MotionTelemetry, at(-120), motion=True))
    return eng.process(mk.reading(device, FallEvent, at(0), confidence=0.6))


def test_weakly_supported_fall_is_held_then_confirmed_by_stillness(eng: DetectionEngine, mk: Clock) -> None:
    assert _weak_fall(eng, mk) == []  # held: "nobody moves elsewhere" alone is weak evidence
    eng.process(mk.reading("pir-bed", MotionTelemetry, at(20), motion=True))  # the fallen person, same room
    assert [a for a in eng.tick(at(30)) if a.type == "fall"] == []
    found = eng.tick(at(46))
    falls = [a for a in found if a.type == "fall"]
    assert len(falls) == 1 and falls[0].ts == at(0)  # the alert keeps the event's time
    assert falls[0].evidence["reason"] == "still_after" and falls[0].evidence["motion_elsewhere_after"] is False
    assert "did not get up" in falls[0].explanation_en
    # accepted late, the long lie still counts from the fall: stage 1 (30 s) is due in the same tick
    assert [a.evidence["stage"] for a in found if a.type == "long_lie"] == [1]


def test_held_fall_rejected_when_the_resident_walks_to_another_room(eng: DetectionEngine, mk: Clock) -> None:
    assert _weak_fall(eng, mk) == []
    eng.process(mk.reading("pir-kit", MotionTelemetry, at(25), motion=True))
    assert [a for a in eng.tick(at(60)) if a.type in ("fall", "long_lie")] == []
    assert [a for a in eng.tick(at(400)) if a.type == "long_lie"] == []  # no episode was started


def test_held_fall_rejected_while_in_bed_all_along(eng: DetectionEngine, mk: Clock) -> None:
    eng.process(mk.reading("bed-1", BedTelemetry, at(-900), occupied=True))
    assert _weak_fall(eng, mk) == []
    assert [a for a in eng.tick(at(60)) if a.type == "fall"] == []


def test_held_fall_confirmed_by_a_radar_on_floor_and_hold_can_be_disabled(mk: Clock) -> None:
    eng = DetectionEngine(registry(), now=T0)
    assert _weak_fall(eng, mk, device="radar-1") == []
    eng.process(mk.reading("radar-1", PresenceTelemetry, at(10), present=True, posture="lying", on_floor=True))
    falls = [a for a in eng.tick(at(50)) if a.type == "fall"]
    assert [f.evidence["reason"] for f in falls] == ["corroborated"]
    assert "radar_on_floor" in falls[0].evidence["supporting"]
    now = DetectionEngine(registry(), EngineConfig(fusion_hold=timedelta(0)), now=T0)
    assert [a.evidence["reason"] for a in _weak_fall(now, Clock())] == ["corroborated"]  # decided at once


def test_bed_exit_delay_per_resident_and_default_follow_the_registry(mk: Clock) -> None:
    """N of "not back in bed within N minutes": the engine default, a resident's own value, and a registry
    reload that changes it reaches the running monitor (which keeps what it learned)."""
    eng = DetectionEngine(registry(), EngineConfig(bed_exit_minutes=30.0), now=T0)
    assert eng.profile("h1", "home").bed_exit_minutes == 30.0
    eng.process(mk.reading("bed-1", BedTelemetry, at(0), occupied=True))  # creates the home's monitor
    mon = eng.sites["h1"].monitors["home"]
    base = registry()
    residents = [dataclasses.replace(r, bed_exit_minutes=8.0) if r.id == "r1" else r for r in base.residents.values()]
    eng.update_registry(dataclasses.replace(base, residents={r.id: r for r in residents}), at(10))
    assert eng.sites["h1"].monitors["home"] is mon and mon.profile.bed_exit_minutes == 8.0


def test_a_wearable_that_stops_streaming_after_an_impact_still_gets_a_decision(mk: Clock) -> None:
    """A windowed wearable sends its fall and 2.6 s after it, then goes quiet: the engine's clock ends the stream
    and decides (truncated post window) instead of waiting for the device's next batch, which may never come."""
    eng = DetectionEngine(registry(), now=T0)
    t, acc = _fall_stream(T0.timestamp(), seconds=6.6)  # impact at +4 s, data until +6.6 s
    alerts = []
    for i in range(0, t.size, 50):
        ts = datetime.fromtimestamp(t[i], UTC)
        alerts += eng.process(
            mk.reading(
                "wear-1", AccelTelemetry, ts, rate_hz=50.0, unit="g", samples=[tuple(x) for x in acc[i : i + 50]]
            )
        )
    assert [a for a in alerts if a.type == "fall"] == []  # the post-impact window is not complete
    assert [a for a in eng.tick(at(9)) if a.type == "fall"] == []  # quiet for 3 s only: may still be streaming
    falls = [a for a in eng.tick(at(13)) if a.type == "fall"]
    assert len(falls) == 1 and falls[0].evidence["truncated"] is True
    assert abs((falls[0].ts - at(4)).total_seconds()) < 0.1
    assert [a for a in eng.tick(at(20)) if a.type == "fall"] == []  # decided once
