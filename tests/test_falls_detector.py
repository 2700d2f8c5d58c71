"""Fall detector on synthetic signals: physics of a fall vs everyday movement, resampling, chunking."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.falls import FallConfig, FallDetector, detect_falls, measure_throughput
from alerts.fusion import fuse_device_fall


def _fall_signal(rate_hz: float = 100.0, seed: int = 0, impact_g: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Standing 1 g on +x, 0.4 s free fall to ~0.2 g, 4 g impact, lying (gravity on +z), still afterwards."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 15.0, 1.0 / rate_hz)
    acc = np.zeros((t.size, 3))
    acc[:, 0] = 1.0
    ff = (t >= 4.6) & (t < 5.0)
    acc[ff] = [0.2, 0.0, 0.05]
    imp = (t >= 5.0) & (t < 5.06)
    acc[imp] = [impact_g * 0.6, 0.0, impact_g * 0.8]
    bounce = (t >= 5.06) & (t < 5.8)
    acc[bounce] = [0.3, 0.2, 1.3]
    lying = t >= 5.8
    acc[lying] = [0.0, 0.05, 1.0]
    acc += 0.01 * rng.standard_normal(acc.shape)
    return t, acc


def _walking(rate_hz: float = 50.0, seconds: float = 20.0, step_g: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, seconds, 1.0 / rate_hz)
    ph = 2 * np.pi * 2.0 * t
    acc = np.column_stack((1.0 + step_g * np.sin(ph) ** 2 * np.sign(np.sin(ph)), 0.2 * np.cos(ph), 0.1 * np.sin(ph)))
    return t, acc


def test_synthetic_fall_detected_once_with_evidence() -> None:
    t, acc = _fall_signal()
    dets = detect_falls(t, acc)
    assert len(dets) == 1
    d = dets[0]
    assert abs(d.t_impact - 5.0) < 0.1
    assert 3.4 <= d.t_detect - d.t_impact <= 3.6  # documented latency: end of the post window
    assert d.peak_g > 3.5 and d.orientation_change_deg > 80 and d.stillness < 0.05
    assert 0.5 < d.score <= 1.0
    assert d.explanation["freefall_seen"] is True
    assert "impact" in d.explanation["summary"]


@pytest.mark.parametrize(
    "signal",
    [
        _walking(step_g=0.8),
        _walking(step_g=2.5),  # jogging-like: hard steps, no orientation change, never still
        _walking(rate_hz=25, step_g=3.5),  # hopping-like
    ],
)
def test_everyday_movement_not_detected(signal: tuple[np.ndarray, np.ndarray]) -> None:
    t, acc = signal
    assert detect_falls(t, acc) == []


def test_sitting_down_not_detected() -> None:
    # trunk tilts ~20 deg, small 1.4 g bump, then still: no impact, no large orientation change
    t = np.arange(0.0, 12.0, 0.02)
    ang = np.radians(np.clip((t - 4.0) / 1.0, 0, 1) * 20)
    acc = np.column_stack((np.cos(ang), np.zeros_like(t), np.sin(ang)))
    acc[(t > 5.0) & (t < 5.1), 0] += 0.4
    assert detect_falls(t, acc) == []


def test_lying_down_without_impact_not_detected() -> None:
    t = np.arange(0.0, 12.0, 0.02)
    ang = np.radians(np.clip((t - 4.0) / 2.0, 0, 1) * 90)
    acc = np.column_stack((np.cos(ang), np.zeros_like(t), np.sin(ang)))
    assert detect_falls(t, acc) == []


def test_chunked_equals_one_shot() -> None:
    t, acc = _fall_signal(rate_hz=200)
    one = detect_falls(t, acc, chunk_s=None)
    for chunk in (0.05, 0.37, 1.0, 3.3):
        other = detect_falls(t, acc, chunk_s=chunk)
        assert len(other) == len(one)
        for a, b in zip(other, one, strict=True):  # identical up to float summation order
            assert (a.t_impact, a.t_detect) == (b.t_impact, b.t_detect)
            assert a.peak_g == pytest.approx(b.peak_g, abs=1e-9)
            assert a.orientation_change_deg == pytest.approx(b.orientation_change_deg, abs=1e-6)
    assert len(one) == 1


def test_irregular_200hz_bursts_resampled() -> None:
    """Phone-like delivery: runs of samples sharing one timestamp spread in a burst, then a pause."""
    t, acc = _fall_signal(rate_hz=200)
    rng = np.random.default_rng(1)
    tb = t.copy()
    for start in range(0, t.size, 8):  # batches of 8 samples crammed into the last 2 ms of their 40 ms slot
        end = min(start + 8, t.size)
        tb[start:end] = t[min(end, t.size - 1)] - np.linspace(0.002, 0.0, end - start) - 1e-4
    tb = np.maximum.accumulate(tb + rng.uniform(0, 1e-6, tb.size))
    dets = detect_falls(tb, acc)
    assert len(dets) == 1 and abs(dets[0].t_impact - 5.0) < 0.15


def test_20hz_with_gaps() -> None:
    t, acc = _fall_signal(rate_hz=20)
    keep = ~(((t > 2.0) & (t < 2.9)) | ((t > 8.0) & (t < 8.8)))  # ~1 s gaps like the SensorTag
    dets = detect_falls(t[keep], acc[keep])
    assert len(dets) == 1


def test_low_rate_17hz() -> None:
    t, acc = _fall_signal(rate_hz=17)
    assert len(detect_falls(t, acc)) == 1


def test_fall_near_end_decided_by_flush() -> None:
    t, acc = _fall_signal()
    cut = t < 5.0 + 1.5 + 1.2  # only 1.2 s of the post window exists
    det = FallDetector()
    assert det.feed(t[cut], acc[cut]) == []
    flushed = det.flush()
    assert len(flushed) == 1 and flushed[0].explanation["truncated"] is True
    short = t < 5.0 + 1.5 + 0.3  # too little after the impact: no decision
    assert detect_falls(t[short], acc[short]) == []
    # A hard fall 2.2 s before the end of a recording (0.7 s of post window, SisFall-like trials): decided on the
    # full-energy impact path; a soft landing needs the longer post window.
    hard = t < 5.0 + 1.5 + 0.7
    assert [d.explanation["path"] for d in detect_falls(t[hard], acc[hard])] == ["impact"]
    t2, acc2 = _posture_change(100, 90, ff_s=0.3, ff_g=0.5, impact_g=2.4, impact_s=0.08)  # a soft landing
    assert detect_falls(t2, acc2)[0].explanation["path"] == "soft_landing"
    soft = t2 < 5.0 + 1.5 + 0.7
    assert detect_falls(t2[soft], acc2[soft]) == []
    softer = t2 < 5.0 + 1.5 + 1.2
    assert len(detect_falls(t2[softer], acc2[softer])) == 1


def test_refractory_and_bad_input() -> None:
    t, acc = _fall_signal()
    acc2 = acc.copy()
    acc2[::97] = np.nan  # NaNs are dropped
    det = FallDetector()
    out = det.feed(t, acc2)
    out += det.feed(t[:100], acc[:100])  # replayed old samples are ignored
    out += det.flush()
    assert len(out) == 1
    with pytest.raises(ValueError):
        det.feed(t[:3], acc[:2])
    with pytest.raises(ValueError):
        FallConfig(fs_hz=1.0)
    with pytest.raises(ValueError):
        FallConfig(velocity_soft_ms=0.0)  # would also make the score's velocity ramp degenerate


def test_long_gap_splits_stream() -> None:
    t, acc = _fall_signal()
    t2 = np.concatenate((t, t + 100.0))
    acc2 = np.vstack((acc, acc))
    dets = detect_falls(t2, acc2)
    assert [round(d.t_impact) for d in dets] == [5, 105]


def test_state_is_bounded() -> None:
    t, acc = _walking(rate_hz=50, seconds=120)
    det = FallDetector()
    for i in range(0, t.size, 50):
        det.feed(t[i : i + 50], acc[i : i + 50])
    assert det._g.shape[0] <= 2 * det._cap


def test_throughput_function() -> None:
    res = measure_throughput(rate_hz=200, seconds=30)
    assert res["samples"] == 6000 and res["samples_per_s"] > 50_000


def test_fuse_device_fall() -> None:
    assert fuse_device_fall(0.9).accept
    assert fuse_device_fall(0.9, motion_elsewhere=True).accept  # high confidence is never vetoed
    low = fuse_device_fall(0.5)
    assert not low.accept and low.reason == "not_corroborated"
    assert fuse_device_fall(0.5, radar_on_floor=True).reason == "corroborated"
    assert fuse_device_fall(0.5, motion_elsewhere=False).accept
    assert fuse_device_fall(0.5, motion_elsewhere=True).reason == "motion_elsewhere"
    assert fuse_device_fall(0.2, radar_on_floor=True).reason == "low_confidence"
    assert not fuse_device_fall(float("nan")).accept


def _posture_change(
    rate_hz: float, turn_deg: float, ff_s: float, ff_g: float, impact_g: float, *, impact_s: float = 0.06
) -> tuple[np.ndarray, np.ndarray]:
    """Upright (gravity on +x), optional free fall, an impact, then still with gravity turned by ``turn_deg``."""
    t = np.arange(0.0, 14.0, 1.0 / rate_hz)
    acc = np.tile([1.0, 0.0, 0.0], (t.size, 1))
    acc[(t >= 5.0 - ff_s) & (t < 5.0)] = [ff_g, 0.0, 0.0]
    acc[(t >= 5.0) & (t < 5.0 + impact_s)] = [0.0, 0.0, impact_g]
    th = np.radians(turn_deg)
    acc[t >= 5.0 + impact_s] = [np.cos(th), 0.0, np.sin(th)]
    return t, acc + 0.005 * np.random.default_rng(2).standard_normal(acc.shape)


def test_soft_fall_with_clear_descent_detected() -> None:
    # 1.8 g only (mat), but 0.35 s at 0.3 g before it: downward velocity ~ -2.4 m/s, energy ~0.3 g*s
    t, acc = _posture_change(100, 90, ff_s=0.35, ff_g=0.3, impact_g=1.8, impact_s=0.1)
    dets = detect_falls(t, acc)
    assert len(dets) == 1
    d = dets[0]
    assert d.peak_g < 2.0 and d.explanation["velocity_ms"] < -0.7
    assert d.explanation["impact_sma_gs"] >= FallConfig().impact_energy_min_gs
    assert "velocity" in d.explanation["summary"]


def test_soft_bump_without_descent_not_detected() -> None:
    # sitting / lying down under control: 1.8 g bump and a 90 deg turn, but no free fall (no velocity, no energy)
    t, acc = _posture_change(100, 90, ff_s=0.0, ff_g=1.0, impact_g=1.8, impact_s=0.1)
    assert detect_falls(t, acc) == []


def test_short_hard_jolt_without_energy_not_detected() -> None:
    # phone knocked / handled: 4 g for 20 ms, 90 deg turn, still -- high peak, little energy
    t, acc = _posture_change(200, 90, ff_s=0.0, ff_g=1.0, impact_g=4.0, impact_s=0.02)
    assert detect_falls(t, acc) == []


def test_sensor_turned_upside_down_not_detected() -> None:
    # phone taken out of the pocket to the ear: same dynamics as a fall, but the sensor ends ~150 deg turned
    t, acc = _posture_change(200, 150, ff_s=0.35, ff_g=0.3, impact_g=3.5)
    assert detect_falls(t, acc) == []
    assert len(detect_falls(t, acc, FallConfig(orientation_max_deg=180.0))) == 1  # the cap is what rejects it
    with pytest.raises(ValueError):
        FallConfig(orientation_min_deg=100.0, orientation_max_deg=90.0)


def test_soft_landing_needs_descent_and_a_body_like_turn() -> None:
    """A fall onto a mattress (or measured by a sensor that clips at 2 g): 2.4 g, energy ~0.26 g*s -- below the
    impact-energy gate, but 0.3 s of free fall before it (-1.5 m/s) and a 90 deg turn: the soft-landing path.
    The same dynamics ending 125 deg turned (a phone brought to the ear) or without the descent are not falls."""
    t, acc = _posture_change(100, 90, ff_s=0.3, ff_g=0.5, impact_g=2.4, impact_s=0.08)
    dets = detect_falls(t, acc)
    assert len(dets) == 1
    e = dets[0].explanation
    assert e["path"] == "soft_landing"
    cfg = FallConfig()
    assert cfg.soft_landing_energy_gs <= e["impact_sma_gs"] < cfg.impact_energy_min_gs
    assert e["velocity_ms"] <= cfg.velocity_soft_ms
    t, acc = _posture_change(100, 125, ff_s=0.3, ff_g=0.5, impact_g=2.4, impact_s=0.08)
    assert detect_falls(t, acc) == []
    t, acc = _posture_change(100, 90, ff_s=0.0, ff_g=1.0, impact_g=2.4, impact_s=0.12)
    assert detect_falls(t, acc) == []
    # a hard fall still takes the ordinary path
    t, acc = _fall_signal()
    assert detect_falls(t, acc)[0].explanation["path"] == "impact"


def _postures(
    rate_hz: float, spans: list[tuple[float, float, tuple[float, float, float]]], impact_at: float
) -> tuple[np.ndarray, np.ndarray]:
    """Still postures (gravity vectors) over time spans, with a 0.35 s, 0.3 g descent and a 3 g impact."""
    t = np.arange(0.0, 18.0, 1.0 / rate_hz)
    acc = np.zeros((t.size, 3))
    for start, end, g in spans:
        acc[(t >= start) & (t < end)] = np.asarray(g) / np.linalg.norm(g)
    acc[(t >= impact_at - 0.35) & (t < impact_at)] *= 0.3
    acc[(t >= impact_at) & (t < impact_at + 0.08)] = [0.0, 0.0, 3.0]
    return t, acc + 0.005 * np.random.default_rng(4).standard_normal(acc.shape)


def test_return_to_an_earlier_posture_is_not_a_fall() -> None:
    """Phone out of the pocket to the ear for a call, then put back: the put-back has a jolt, a 115 deg turn
    between the 'before' and 'after' windows and stillness, like a fall -- but the sensor ends in the posture it
    held 8 s earlier. A body that falls ends in a new posture."""
    th = np.radians(115)
    pocket, ear = (1.0, 0.0, 0.0), (float(np.cos(th)), 0.0, float(np.sin(th)))
    t, acc = _postures(100, [(0, 4, pocket), (4.5, 10, ear), (10.08, 18, pocket)], impact_at=10.0)
    assert detect_falls(t, acc) == []
    dets = detect_falls(t, acc, FallConfig(return_window_s=0.0))  # the return test is what rejects it
    assert len(dets) == 1 and abs(dets[0].t_impact - 10.0) < 0.1


def test_fall_into_a_new_posture_after_an_earlier_change_is_detected() -> None:
    """Lying on the back, up on the feet for 6 s, then a fall onto the side: an earlier posture exists that the
    'before' window differs from, but the body does not end in it, so this is a fall."""
    t, acc = _postures(50, [(0, 3.5, (0, 0, 1)), (4, 10, (1, 0, 0)), (10.08, 18, (0, 1, 0))], impact_at=10.0)
    dets = detect_falls(t, acc)
    assert len(dets) == 1 and abs(dets[0].t_impact - 10.0) < 0.1
    with pytest.raises(ValueError):
        FallConfig(buffer_s=12.0)  # too short to hold the return window
