"""Streaming accelerometer fall detector (pure: numpy only, no I/O).

Why this shape: a wearable sends batches of tri-axial samples at whatever rate its firmware manages (17-200 Hz,
bursty, with gaps). The detector puts every stream onto one uniform grid (25 Hz, linear interpolation of the
acceleration vector, plus the true raw peak |a| per grid cell so short impacts are not lost when a 200 Hz stream
is thinned), and then applies the physics of a fall, as in the threshold literature (Bourke et al. 2007; Kangas
et al. 2008) -- each stage is evidence the alert can quote:

1. impact: a peak of |a| >= ``impact_g`` (1.6 g) that is the largest within +-``cluster_s`` (one decision per
   impact);
2. fall dynamics: the impact energy (area of | |a| - 1 g | over +-0.5 s: free fall + impact) is at least
   ``impact_energy_min_gs``; a soft peak (< ``soft_impact_g``) also needs a pre-impact downward velocity
   (integral of |a| - 1 g, Bourke et al. 2008; 2010) <= ``velocity_soft_ms``. A phone jolted out of a pocket peaks
   high but briefly; sitting or lying down under control has neither energy nor velocity;
3. orientation change: the gravity direction (mean vector over 1.5 s, i.e. a low-pass filter) before the fall
   differs from the one after it by ``orientation_min_deg``..``orientation_max_deg`` (upright -> lying is
   90 +- 40 deg; a sensor that ends upside down was taken off the body);
4. stillness: the standard deviation of |a| over the post-impact window is <= ``stillness_max_g`` -- a person
   who hops or jogs keeps moving; a person on the floor after a fall lies still for seconds.

5. a new posture (v4): the sensor does not end in a still orientation it held in the last 12 s and had left
   before the impact -- a phone put back into the pocket after a call, or a person standing up again, returns.

Free fall (|a| below ``freefall_g``) is reported and scored but no longer gates (v2): slow falls show little.

The decision for an impact is taken when the post-impact window is complete, ``post_window_s[1]`` = 3.5 s
after the impact (plus at most one grid cell): the detection latency is ~3.5 s (3.52-3.56 s on the 25 Hz grid).
At the end of a stream (:meth:`FallDetector.flush`) a pending impact is decided with the data available when at
least ``flush_min_still_s`` of the post-impact window exists. A refractory period suppresses a second detection
of the same fall (bounces, getting up). Per-device state is a 10-20 s grid buffer (<= 16 kB) and a few scalars,
so thousands of wearables fit in one process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "FallConfig",
    "FallDetection",
    "FallDetector",
    "RejectedImpact",
    "detect_falls",
    "measure_throughput",
]


@dataclass(frozen=True, slots=True)
class FallConfig:
    """Thresholds and windows of the detector; times in seconds, accelerations in g.

    The defaults were chosen on the odd-numbered subjects of UMAFall only (waist, then waist + pocket; see
    docs/detection-falls.md), from the middle of the plateau of good values and rounded, so they carry to
    other sensor positions; even-numbered subjects are held out.
    """

    fs_hz: float = 25.0
    """Uniform grid rate. 25 Hz keeps the 17-21 Hz SensorTags at their native resolution (no information is
    invented, interpolation only) and is plenty for posture and stillness; impacts keep their raw peak."""
    impact_g: float = 1.6
    """Impact candidate threshold on the raw peak |a|. Bourke et al. (2007) put the upper fall threshold near
    2.8-3.5 g for trunk and thigh; we go much lower on purpose because impact energy, orientation and stillness
    do the separating, and soft falls (mats, slow older fallers) peak at 1.6-3 g. Below ``soft_impact_g`` a
    clear downward velocity is required too."""
    soft_impact_g: float = 2.0
    """A peak between ``impact_g`` and this needs pre-impact velocity <= ``velocity_soft_ms``."""
    velocity_soft_ms: float = -0.7
    """Pre-impact downward velocity from the integral of (|a| - 1 g) (Bourke et al. 2010 use 0.7 m/s downward):
    a soft impact counts only when the body was clearly falling, not sitting or lying down under control."""
    impact_energy_min_gs: float = 0.28
    """Min signal magnitude area of | |a| - 1 g | over +-0.5 s around the impact (g*s): free fall and impact both
    add to it. Falls of the tuning subjects: >= 0.32; controlled sit/lie-down and phone handling: <= 0.26 (the
    phone jolt is short and hard: high peak, little energy)."""
    soft_landing_energy_gs: float = 0.20
    """Second way in for a low-energy impact (v3): energy >= this *and* a clear downward velocity
    (<= ``velocity_soft_ms``) *and* a body-like turn (within ``soft_landing_tilt_deg`` of 90 deg). Falls onto a
    mattress, and sensors that clip at +-2 g (MobiFall's phone), land at 0.21-0.28 g*s; sitting down, getting into
    a car and handling a phone reach the energy but not velocity and turn together (docs/detection-falls.md)."""
    soft_landing_tilt_deg: float = 20.0
    """Max |orientation change - 90 deg| on the soft-landing path (the phone-at-the-ear turn is 104-160 deg)."""
    cluster_s: float = 0.5
    """An impact must be the largest peak within +- this time (impact and its bounces are one event)."""
    impact_no_freefall_g: float = 3.0
    """Kept for compatibility (v1 gate: impact needed without free fall). Since v2 the impact-energy gate
    replaces the free-fall gate (it includes the free-fall phase); this value only sets the score's impact
    ramp and appears in the explanation."""
    freefall_g: float = 0.8
    """Free-fall evidence threshold for the smoothed (0.12 s) |a| in the ``freefall_window_s`` before impact;
    true free fall is 0 g, but a body pivoting over its feet only drops to ~0.3-0.7 g. Supporting evidence
    (score, explanation) since v2, not a gate: slow falls of older people show little free fall."""
    freefall_window_s: float = 1.0
    pre_window_s: tuple[float, float] = (-2.5, -1.0)
    """Gravity 'before' window relative to the impact: ends 1 s early so the fall itself is excluded."""
    post_window_s: tuple[float, float] = (1.5, 3.5)
    """Gravity 'after' + stillness window: starts 1.5 s late so the impact, bounces and the settling roll are
    excluded; its end is the detection latency (3.5 s after the impact)."""
    orientation_min_deg: float = 50.0
    """Trunk/thigh from upright to lying is ~90 deg; sitting down tilts the trunk by only ~10-30 deg."""
    orientation_max_deg: float = 130.0
    """Upright -> lying turns a body-fixed sensor by 90 +- 40 deg. More than 130 deg means the sensor ended
    upside down: a device taken off the body (phone out of the pocket to the ear turns 110-160 deg), not a
    segment that fell to the floor. Set 180 to disable (e.g. for wrist sensors)."""
    stillness_max_g: float = 0.2
    """Max std of |a| over the post window. A person lying after a fall is at ~0.01-0.1 g (breathing,
    shifting, a late roll); hopping and jogging are 0.3-1 g."""
    refractory_s: float = 30.0
    """No second detection within this time after a detected impact (bounces, rolling, getting up)."""
    max_gap_s: float = 5.0
    """A longer gap in the stream is a new stream: pending impacts are flushed and the grid restarts."""
    flush_min_still_s: float = 1.0
    """At end of stream, decide a pending impact only if at least this much post window exists."""
    flush_min_still_hard_s: float = 0.5
    """... or, on the full-energy impact path only (not the soft landing), at least this much (v4): recordings
    that end 2-2.5 s after a hard fall (SisFall's 15 s trials) are still decided; a soft landing needs more."""
    return_window_s: float = 12.0
    """How far back (s before the impact) to look for a *return*: a still posture the sensor held shortly before
    the event, which the 'before' window had left (>= ``return_excursion_deg``) and the 'after' window is back
    in (<= ``return_match_deg``). A body that falls ends in a *new* posture; a phone put back into the pocket
    after a call, or a person getting up again, ends in the one it had seconds earlier (v4; 0 disables)."""
    return_excursion_deg: float = 60.0
    return_match_deg: float = 30.0
    return_still_g: float = 0.06
    """A 1 s window counts as a held posture when the std of |a| in it is at most this (standing or lying
    still, not walking)."""
    buffer_s: float = 18.0

    def __post_init__(self) -> None:
        if not 5.0 <= self.fs_hz <= 200.0:
            raise ValueError("fs_hz must be within 5..200")
        if not (self.pre_window_s[0] < self.pre_window_s[1] <= 0.0):
            raise ValueError("pre_window_s must be (start, end) with start < end <= 0")
        if not (0.0 <= self.post_window_s[0] < self.post_window_s[1]):
            raise ValueError("post_window_s must be (start, end) with 0 <= start < end")
        need = self.post_window_s[1] + max(-self.pre_window_s[0], self.return_window_s) + 2 * self.cluster_s + 1.0
        if not self.velocity_soft_ms < 0.0:
            raise ValueError("velocity_soft_ms is a downward velocity: it must be negative (m/s)")
        if not (0.0 <= self.orientation_min_deg < self.orientation_max_deg <= 180.0):
            raise ValueError("need 0 <= orientation_min_deg < orientation_max_deg <= 180")
        if self.buffer_s < need:
            raise ValueError(f"buffer_s must be >= {need:.1f} s to hold the pre, post and return windows")


@dataclass(frozen=True, slots=True)
class RejectedImpact:
    """An impact candidate that was judged and rejected: when, how hard, and the first check it failed."""

    t_impact: float
    peak_g: float
    why_not: str


@dataclass(frozen=True, slots=True)
class FallDetection:
    """One detected fall; times are in the stream's own time base (the ``t`` passed to :meth:`feed`)."""

    t_detect: float
    """When the detector decided (time of the newest sample it had seen)."""
    t_impact: float
    peak_g: float
    orientation_change_deg: float
    stillness: float
    """Std of |a| (g) over the post-impact window: small = lying still."""
    freefall_min_g: float
    score: float
    """0..1 confidence built from the margins of the evidence (not a calibrated probability)."""
    explanation: dict[str, Any] = field(default_factory=dict)


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at ``lo``, 1 at ``hi``, linear in between (works for hi < lo too)."""
    if not math.isfinite(x):
        return 0.0
    if hi == lo:  # a degenerate ramp is a step at lo
        return 1.0 if x >= lo else 0.0
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


class FallDetector:
    """Streaming fall detector for one accelerometer stream (one wearable).

    Feed batches of samples in time order with :meth:`feed`; it returns the falls decided by the data seen so
    far. Feeding a stream in one call or in any chunking gives the same detections (the resampler is causal
    and an impact is only judged once its whole window is in). Samples that are not finite or not later than
    the previous sample are dropped (the transport may replay or reorder; time order is the caller's job).
    """

    def __init__(self, config: FallConfig | None = None) -> None:
        self.config = config or FallConfig()
        c = self.config
        self._dt = 1.0 / c.fs_hz
        self._pre = (round(c.pre_window_s[0] * c.fs_hz), round(c.pre_window_s[1] * c.fs_hz))
        self._post = (round(c.post_window_s[0] * c.fs_hz), round(c.post_window_s[1] * c.fs_hz))
        self._cluster = max(1, round(c.cluster_s * c.fs_hz))
        self._ff = max(1, round(c.freefall_window_s * c.fs_hz))
        self._cap = round(c.buffer_s * c.fs_hz)
        self._min_pre = max(3, round(0.4 * c.fs_hz))
        self._vel_n = round(1.5 * c.fs_hz)  # velocity integral window before the impact
        self._e_n = round(0.5 * c.fs_hz)  # impact-energy half window
        # rows of the buffer an impact's evidence needs, relative to the impact row
        self._span = (min(self._pre[0], -self._vel_n, -self._ff, -self._e_n), max(self._post[1], self._e_n + 1))
        self.strongest_rejected: RejectedImpact | None = None
        """The highest-peak impact candidate that was *not* a fall, and why (for explaining a missed fall)."""
        self.reset()

    # -- state ------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the stream (grid, buffer, pending impacts); the refractory clock is kept."""
        self._t0: float | None = None  # grid origin: grid cell k is at t0 + k*dt
        self._next_k = 0  # next grid index to emit
        self._last_t = -math.inf  # last raw sample time
        self._last_a = np.zeros(3)
        self._cell_max = 0.0  # running raw max |a| of the cell being filled (next_k)
        self._carry_int = np.zeros(3)  # integral of the interpolant from the last grid point to the last sample
        self._g = np.empty((0, 3))  # grid vectors, buffer
        self._pk = np.empty(0)  # per-cell peak |a|
        self._k0 = 0  # grid index of buffer row 0
        self._scan_k = 0  # next grid index whose impact decision is pending
        if not hasattr(self, "_refractory_until"):
            self._refractory_until = -math.inf

    # -- public API -------------------------------------------------------------------------------------------

    def feed(self, t: np.ndarray, acc: np.ndarray) -> list[FallDetection]:
        """Add samples ``t`` (s, shape (n,)) and ``acc`` (g, shape (n, 3)); return falls decided now."""
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        acc = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        if t.shape[0] != acc.shape[0]:
            raise ValueError("t and acc must have the same number of samples")
        out: list[FallDetection] = []
        if t.size == 0:
            return out
        ok = np.isfinite(t) & np.isfinite(acc).all(axis=1)
        if not ok.all():
            t, acc = t[ok], acc[ok]
        # Keep strictly increasing times only (drops replays, duplicates and samples older than the stream).
        if t.size and (t[0] <= self._last_t or (t.size > 1 and np.any(np.diff(t) <= 0))):
            run_max = np.maximum.accumulate(np.concatenate(([self._last_t], t)))
            keep = t > run_max[:-1]
            t, acc = t[keep], acc[keep]
        if t.size == 0:
            return out
        # Long gaps split the stream: decide what we can, then restart the grid.
        if self._t0 is not None:
            gaps = np.flatnonzero(np.diff(np.concatenate(([self._last_t], t))) > self.config.max_gap_s)
        else:
            gaps = np.flatnonzero(np.diff(t) > self.config.max_gap_s) + 1
        start = 0
        for g in gaps:
            if g > start:
                out += self._feed_segment(t[start:g], acc[start:g])
            out += self.flush()
            start = int(g)
        out += self._feed_segment(t[start:], acc[start:])
        return out

    def flush(self) -> list[FallDetection]:
        """End of stream: decide pending impacts with the data available, then reset the stream state.

        An impact is decided only when at least ``flush_min_still_s`` of its post-impact window exists, or
        ``flush_min_still_hard_s`` for a full-energy impact (a fall in the last ~2 s of a recording cannot be told
        from a stumble); the stillness and orientation are then computed over the shorter window and
        ``explanation['truncated']`` says so.
        """
        out: list[FallDetection] = []
        if self._t0 is not None and self._g.shape[0]:
            last_k = self._k0 + self._g.shape[0] - 1
            shortest = min(self.config.flush_min_still_s, self.config.flush_min_still_hard_s)
            min_post = self._post[0] + max(2, round(shortest * self.config.fs_hz))
            out = self._decide_until(last_k - min_post, last_k)
        self.reset()
        return out

    # -- resampling -------------------------------------------------------------------------------------------

    def _feed_segment(self, t: np.ndarray, acc: np.ndarray) -> list[FallDetection]:
        if t.size == 0:
            return []
        mag = np.sqrt(np.einsum("ij,ij->i", acc, acc))
        fs = self.config.fs_hz
        if self._t0 is None:
            self._t0 = float(t[0])
            self._next_k = 0
            self._k0 = 0
            self._scan_k = 0
            self._last_t = float(t[0])
            self._last_a = acc[0].copy()
            self._cell_max = float(mag[0])
            t, acc, mag = t[1:], acc[1:], mag[1:]
            # grid cell 0 sits exactly on the first sample
            self._append(self._last_a[None, :].copy(), np.array([self._cell_max]))
            self._next_k = 1
            self._cell_max = 0.0
            if t.size == 0:
                return self._decide_until(self._k0 + self._g.shape[0] - 1 - self._post[1], None)
        t0 = self._t0
        # cell k collects raw samples with g_{k-1} < t <= g_k; it is complete once a sample reaches g_k
        last_k = math.floor((t[-1] - t0) * fs + 1e-9)
        if last_k >= self._next_k:
            ks = np.arange(self._next_k, last_k + 1)
            grid_t = t0 + ks * self._dt
            tt = np.concatenate(([self._last_t], t))
            aa = np.vstack((self._last_a[None, :], acc))
            # Cell value = mean of the linear interpolant over the cell (g_{k-1}, g_k]: linear interpolation
            # for sparse streams, an anti-aliasing box filter for dense ones (a 200 Hz phone point-sampled at
            # 25 Hz would alias step vibration into fake free-fall dips). Integrals are kept relative to the
            # last emitted grid point, so numbers stay small on endless streams.
            seg = np.diff(tt)[:, None] * (aa[1:] + aa[:-1]) * 0.5
            f_raw = np.vstack((self._carry_int[None, :], self._carry_int + np.cumsum(seg, axis=0)))
            i = np.clip(np.searchsorted(tt, grid_t, side="right") - 1, 0, tt.size - 1)
            nxt = np.minimum(i + 1, tt.size - 1)
            span = tt[nxt] - tt[i]
            w = np.divide(grid_t - tt[i], span, out=np.zeros_like(grid_t), where=span > 0)
            a_g = aa[i] + w[:, None] * (aa[nxt] - aa[i])
            f_grid = f_raw[i] + (grid_t - tt[i])[:, None] * (aa[i] + a_g) * 0.5
            gx = np.diff(np.vstack((np.zeros((1, 3)), f_grid)), axis=0) * self.config.fs_hz
            self._carry_int = f_raw[-1] - f_grid[-1]
            pk = np.sqrt(np.einsum("ij,ij->i", gx, gx))
            # raw peak per cell: index of the cell each raw sample falls into
            cell = np.ceil((t - t0) * fs - 1e-9).astype(np.int64)
            done = cell <= last_k
            if done.any():
                c_done, m_done = cell[done], mag[done]
                starts = np.flatnonzero(np.concatenate(([True], c_done[1:] != c_done[:-1])))
                maxima = np.maximum.reduceat(m_done, starts)
                idx = c_done[starts] - self._next_k
                pk[idx] = np.maximum(pk[idx], maxima)
            pk[0] = max(pk[0], self._cell_max)
            self._append(gx, pk)
            self._next_k = last_k + 1
            rest = mag[~done]
            self._cell_max = float(rest.max()) if rest.size else 0.0
        else:
            self._cell_max = max(self._cell_max, float(mag.max()))
            self._carry_int = self._carry_int + 0.5 * np.sum(
                np.diff(np.concatenate(([self._last_t], t)))[:, None]
                * (np.vstack((self._last_a[None, :], acc[:-1])) + acc),
                axis=0,
            )
        self._last_t = float(t[-1])
        self._last_a = acc[-1].copy()
        newest = self._k0 + self._g.shape[0] - 1
        return self._decide_until(newest - self._post[1], None)

    def _append(self, gx: np.ndarray, pk: np.ndarray) -> None:
        self._g = np.vstack((self._g, gx)) if self._g.shape[0] else gx.copy()
        self._pk = np.concatenate((self._pk, pk)) if self._pk.size else pk.copy()
        excess = self._g.shape[0] - 2 * self._cap
        if excess > 0:  # amortised trim: keep the newest `cap` cells
            drop = self._g.shape[0] - self._cap
            self._g = self._g[drop:].copy()
            self._pk = self._pk[drop:].copy()
            self._k0 += drop

    # -- decisions --------------------------------------------------------------------------------------------

    def _decide_until(self, k_last: int, flush_last_k: int | None) -> list[FallDetection]:
        """Judge impact candidates at grid indices scan_k..k_last (their windows are complete)."""
        out: list[FallDetection] = []
        k_first = max(self._scan_k, self._k0)
        if k_last < k_first:
            return out
        j0, j1 = k_first - self._k0, k_last - self._k0 + 1
        hits = np.flatnonzero(self._pk[j0:j1] >= self.config.impact_g)
        for h in hits:
            j = j0 + int(h)
            lo, hi = max(0, j - self._cluster), min(self._pk.size, j + self._cluster + 1)
            win = self._pk[lo:hi]
            if int(np.argmax(win)) + lo != j:  # not the cluster maximum (first maximum wins ties)
                continue
            t_imp = self._t0 + (self._k0 + j) * self._dt  # type: ignore[operator]
            if t_imp < self._refractory_until:
                continue
            det = self._evaluate(j, t_imp, truncated=flush_last_k is not None)
            if det is not None:
                out.append(det)
                self._refractory_until = t_imp + self.config.refractory_s
        self._scan_k = k_last + 1
        return out

    def features(self, j: int) -> dict[str, float]:
        """Evidence for an impact at buffer row ``j`` (used by the decision and by tuning tools)."""
        peak = float(self._pk[j])
        lo, hi = max(0, j + self._span[0]), min(self._g.shape[0], j + self._span[1])
        g, n, j = self._g[lo:hi], hi - lo, j - lo  # only the rows the evidence needs (cheap per candidate)
        mag = np.sqrt(np.einsum("ij,ij->i", g, g))
        a0, a1 = max(0, j + self._pre[0]), max(0, j + self._pre[1])
        b0, b1 = min(n, j + self._post[0]), min(n, j + self._post[1])
        nan = float("nan")
        before = g[a0:a1].mean(axis=0) if a1 - a0 >= self._min_pre else None
        after = g[b0:b1].mean(axis=0) if b1 - b0 >= 2 else None
        if before is not None and after is not None:
            nb, na = float(np.linalg.norm(before)), float(np.linalg.norm(after))
            cosang = float(np.dot(before, after) / (nb * na)) if nb > 1e-6 and na > 1e-6 else nan
            angle = math.degrees(math.acos(min(1.0, max(-1.0, cosang)))) if math.isfinite(cosang) else nan
        else:
            angle = nan
        still = float(mag[b0:b1].std()) if b1 - b0 >= 2 else nan
        post_mean = float(mag[b0:b1].mean()) if b1 - b0 >= 2 else nan
        f0 = max(0, j - self._ff)
        seg = mag[f0:j]
        if seg.size >= 3:
            smooth = np.convolve(seg, np.ones(3) / 3.0, mode="valid")
            ff = float(smooth.min())
        else:
            ff = float(seg.min()) if seg.size else nan
        # --- extra evidence (v2) ---
        dt = self._dt
        # Vertical velocity before impact (Bourke et al. 2008; 2010): integral of (|a| - 1 g) over the descent. With an
        # unknown sensor orientation |a| - 1 g is the vertical component only approximately; the most negative
        # sub-interval sum within 1.5 s before the impact (descent start is unknown) is the peak downward speed.
        v0 = max(0, j - self._vel_n)
        if j - v0 >= 3:
            cum = np.concatenate(([0.0], np.cumsum(mag[v0 : j + 1] - 1.0))) * (9.81 * dt)
            vel = float(np.min(cum - np.maximum.accumulate(cum)))
        else:
            vel = nan
        # Post-window motion of the 3-axis vector (not only |a|): a phone held in a hand, a person shifting on a
        # chair move the sensor's orientation even when |a| stays near 1 g. hf = RMS of each axis minus its 0.36 s
        # moving mean (roughly the 3-12 Hz tremor band on the 25 Hz grid); axis_std = std of each axis.
        if b1 - b0 >= 10:
            post = g[b0:b1]
            axis_std = float(np.sqrt(post.var(axis=0).sum()))
            k = 9
            ker = np.ones(k) / k
            sm = np.column_stack([np.convolve(post[:, i], ker, mode="valid") for i in range(3)])
            h = k // 2
            hf = float(np.sqrt(((post[h : h + sm.shape[0]] - sm) ** 2).sum(axis=1).mean()))
            jerk = float(np.sqrt((np.diff(post, axis=0) ** 2).sum(axis=1).mean()) * self.config.fs_hz)
        else:
            axis_std = hf = jerk = nan
        # Impact energy: signal magnitude area of |a| - 1 g over +-0.5 s around the impact (g*s).
        e0, e1 = max(0, j - self._e_n), min(n, j + self._e_n + 1)
        sma = float(np.abs(mag[e0:e1] - 1.0).sum() * dt)
        # Activity before the fall window (std |a| over the 'before' window).
        pre_std = float(mag[a0:a1].std()) if a1 - a0 >= 2 else nan
        return {
            "peak_g": peak,
            "freefall_min_g": ff,
            "orientation_change_deg": angle,
            "stillness": still,
            "post_mean_g": post_mean,
            "post_window_s": (b1 - b0) * self._dt,
            "velocity_ms": vel,
            "post_axis_std_g": axis_std,
            "post_hf_g": hf,
            "post_jerk_gps": jerk,
            "impact_sma_gs": sma,
            "pre_std_g": pre_std,
        }

    def _reject(self, t_imp: float, peak: float, why: Callable[[], str]) -> None:
        """Remember the strongest rejected candidate (the text is built only when it is the new strongest)."""
        best = self.strongest_rejected
        if best is None or peak > best.peak_g:
            self.strongest_rejected = RejectedImpact(float(t_imp), float(peak), why())

    def _returned_posture(self, j: int) -> dict[str, float] | None:
        """A still posture of the last ``return_window_s`` that the sensor left before the impact and is back in.

        Why: a fall ends in a posture the body did not have a moment ago. Putting a phone back into the pocket
        after a call (pocket -> ear -> pocket), or standing up again after lying, has every other mark of a fall
        -- a jolt, a 100-130 deg turn between the 'before' and 'after' windows, stillness -- but it *returns* to an
        orientation held seconds earlier. Returns the best such match (angles, when) or None.
        """
        c = self.config
        if c.return_window_s <= 0:
            return None
        fs = c.fs_hz
        w, step = max(2, round(fs)), max(1, round(0.5 * fs))  # 1 s windows every 0.5 s
        lo, hi = max(0, j - round(c.return_window_s * fs)), j - round(2.0 * fs)  # windows end >= 2 s before
        n = self._g.shape[0]
        a0, a1 = max(0, j + self._pre[0]), max(0, j + self._pre[1])
        b0, b1 = min(n, j + self._post[0]), min(n, j + self._post[1])
        if hi - lo < w or a1 - a0 < self._min_pre or b1 - b0 < 2:
            return None
        g = self._g[lo:hi]
        mag = np.sqrt(np.einsum("ij,ij->i", g, g))
        cg = np.vstack((np.zeros((1, 3)), np.cumsum(g, axis=0)))
        cm = np.concatenate(([0.0], np.cumsum(mag)))
        cm2 = np.concatenate(([0.0], np.cumsum(mag * mag)))
        st = np.arange(0, hi - lo - w + 1, step)
        means = (cg[st + w] - cg[st]) / w
        mm = (cm[st + w] - cm[st]) / w
        var = (cm2[st + w] - cm2[st]) / w - mm * mm
        held = var <= c.return_still_g**2

        def angles(v: np.ndarray) -> np.ndarray:
            norms = np.linalg.norm(means, axis=1) * float(np.linalg.norm(v))
            cos = np.divide(means @ v, norms, out=np.ones(len(st)), where=norms > 1e-9)
            return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))

        left = angles(self._g[a0:a1].mean(axis=0))
        back = angles(self._g[b0:b1].mean(axis=0))
        hit = held & (left >= c.return_excursion_deg) & (back <= c.return_match_deg)
        if not hit.any():
            return None
        i = int(np.flatnonzero(hit)[np.argmin(back[hit])])
        return {"match_deg": float(back[i]), "excursion_deg": float(left[i]), "at_s": (lo + st[i] - j) / fs}

    def _evaluate(self, j: int, t_imp: float, truncated: bool) -> FallDetection | None:
        c = self.config
        # cheap pre-gate (same formulas as features()): most candidates of walking/jogging fail on energy or
        # stillness, so the full evidence is computed only for the few that pass
        n = self._g.shape[0]
        e0, e1 = max(0, j - self._e_n), min(n, j + self._e_n + 1)
        ge = self._g[e0:e1]
        gate = min(c.impact_energy_min_gs, c.soft_landing_energy_gs)
        peak0 = float(self._pk[j])
        energy0 = float(np.abs(np.sqrt(np.einsum("ij,ij->i", ge, ge)) - 1.0).sum() * self._dt)
        if energy0 < gate:
            self._reject(t_imp, peak0, lambda: f"impact energy {energy0:.2f} g*s < {gate:.2f}")
            return None
        b0, b1 = min(n, j + self._post[0]), min(n, j + self._post[1])
        gb = self._g[b0:b1]
        still0 = float(np.sqrt(np.einsum("ij,ij->i", gb, gb)).std()) if b1 - b0 >= 2 else 0.0
        if still0 > c.stillness_max_g:
            self._reject(t_imp, peak0, lambda: f"moving after the impact (std |a| {still0:.2f} g)")
            return None
        f = self.features(j)
        angle, still, ff, peak = f["orientation_change_deg"], f["stillness"], f["freefall_min_g"], f["peak_g"]
        vel, energy = f["velocity_ms"], f["impact_sma_gs"]
        freefall = math.isfinite(ff) and ff < c.freefall_g
        soft_ok = math.isfinite(vel) and vel <= c.velocity_soft_ms
        hard = energy >= c.impact_energy_min_gs and (peak >= c.soft_impact_g or soft_ok)
        soft_landing = (
            energy >= c.soft_landing_energy_gs
            and soft_ok
            and math.isfinite(angle)
            and abs(angle - 90.0) <= c.soft_landing_tilt_deg
        )
        if truncated and f["post_window_s"] < c.flush_min_still_s - 0.5 * self._dt:
            soft_landing = False  # little post-impact evidence: only the strong impact evidence may decide
        checks = {
            # a fall = enough energy around the impact (free fall + impact), and a soft peak only with a clear
            # downward velocity before it; or a soft landing: less energy, but falling and turning like a body
            "impact": peak >= c.impact_g and (hard or soft_landing),
            "orientation": math.isfinite(angle) and c.orientation_min_deg <= angle <= c.orientation_max_deg,
            "stillness": math.isfinite(still) and still <= c.stillness_max_g,
        }
        if not all(checks.values()):
            failed = [k for k, ok in checks.items() if not ok]
            self._reject(
                t_imp,
                peak,
                lambda: (
                    f"failed {', '.join(failed)}: energy {energy:.2f} g*s, velocity {vel:.1f} m/s, "
                    f"orientation {angle:.0f} deg, std |a| after {still:.3f} g"
                ),
            )
            return None
        back = self._returned_posture(j)
        if back is not None:
            self._reject(
                t_imp,
                peak,
                lambda: f"returned to a posture held {-back['at_s']:.1f} s before (within {back['match_deg']:.0f} deg)",
            )
            return None
        # Score: weighted margins of the evidence (hand-set, not fitted); free fall and velocity support only.
        parts = {
            "impact": _ramp(peak, c.impact_g, c.impact_no_freefall_g + 1.0),
            "energy": _ramp(energy, c.impact_energy_min_gs, 2.0 * c.impact_energy_min_gs),
            "orientation": _ramp(abs(angle - 90.0), 40.0, 10.0),
            "stillness": _ramp(still, c.stillness_max_g, 0.02),
            "freefall": _ramp(ff, 1.0, 0.4),
            "velocity": _ramp(vel, c.velocity_soft_ms, 2.0 * c.velocity_soft_ms),
        }
        weights = {"impact": 0.2, "energy": 0.2, "orientation": 0.2, "stillness": 0.2, "freefall": 0.1, "velocity": 0.1}
        score = 0.5 + 0.5 * sum(weights[k] * parts[k] for k in weights)
        newest_t = self._last_t
        t_detect = newest_t if truncated else min(newest_t, t_imp + self._post[1] * self._dt + self._dt)
        explanation: dict[str, Any] = {
            **{k: (round(v, 4) if math.isfinite(v) else None) for k, v in f.items()},
            "freefall_seen": freefall,
            "path": "impact" if hard else "soft_landing",
            "thresholds": {
                "impact_g": c.impact_g,
                "impact_no_freefall_g": c.impact_no_freefall_g,
                "impact_energy_min_gs": c.impact_energy_min_gs,
                "soft_impact_g": c.soft_impact_g,
                "velocity_soft_ms": c.velocity_soft_ms,
                "soft_landing_energy_gs": c.soft_landing_energy_gs,
                "soft_landing_tilt_deg": c.soft_landing_tilt_deg,
                "orientation_min_deg": c.orientation_min_deg,
                "orientation_max_deg": c.orientation_max_deg,
                "stillness_max_g": c.stillness_max_g,
                "freefall_g": c.freefall_g,
            },
            "score_parts": {k: round(v, 3) for k, v in parts.items()},
            "truncated": truncated,
            "summary": (
                f"impact {peak:.1f} g (energy {energy:.2f} g*s, velocity {vel:.1f} m/s), orientation changed "
                f"{angle:.0f} deg, still afterwards "
                f"(std |a| {still:.3f} g over {f['post_window_s']:.1f} s)"
                + (f", free fall to {ff:.2f} g before impact" if freefall else "")
            ),
        }
        return FallDetection(
            t_detect=float(t_detect),
            t_impact=float(t_imp),
            peak_g=peak,
            orientation_change_deg=angle,
            stillness=still,
            freefall_min_g=ff,
            score=round(float(score), 3),
            explanation=explanation,
        )


def detect_falls(
    t: np.ndarray,
    acc: np.ndarray,
    config: FallConfig | None = None,
    chunk_s: float | None = 1.0,
    detector: FallDetector | None = None,
) -> list[FallDetection]:
    """Run a fresh detector over a whole recording (in ``chunk_s`` batches, as the live path does) and flush.

    Pass ``detector`` (a new one) to inspect it afterwards, e.g. its ``strongest_rejected`` candidate."""
    det = detector if detector is not None else FallDetector(config)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    acc = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
    out: list[FallDetection] = []
    if chunk_s is None or t.size == 0:
        out += det.feed(t, acc)
    else:
        # chunk by time, like a wearable sending ~1 s batches; searchsorted on the running max keeps odd
        # (unsorted) inputs chunkable -- the detector drops out-of-order samples itself.
        tm = np.fmax.accumulate(np.where(np.isfinite(t), t, -np.inf))
        edges = np.arange(tm[0] + chunk_s, tm[-1] + chunk_s, chunk_s) if np.isfinite(tm[0]) else np.array([])
        cuts = np.searchsorted(tm, edges, side="left")
        start = 0
        for c in [*cuts.tolist(), t.size]:
            if c > start:
                out += det.feed(t[start:c], acc[start:c])
                start = c
    out += det.flush()
    return out


def measure_throughput(
    rate_hz: float = 200.0, seconds: float = 600.0, chunk_s: float = 1.0, seed: int = 0
) -> dict[str, float]:
    """Samples per second one detector processes on a synthetic walking-like stream fed in ``chunk_s`` batches.

    Used by the benchmark; the stream has impacts (>2 g steps) so the candidate path is exercised too.
    """
    rng = np.random.default_rng(seed)
    n = int(rate_hz * seconds)
    t = np.arange(n) / rate_hz + rng.uniform(0, 0.2 / rate_hz, n)
    phase = 2 * np.pi * 2.0 * t
    acc = np.column_stack(
        (
            0.3 * np.sin(phase) + 0.02 * rng.standard_normal(n),
            0.1 * np.cos(phase) + 0.02 * rng.standard_normal(n),
            1.0 + 1.2 * np.maximum(0.0, np.sin(phase)) ** 8 + 0.02 * rng.standard_normal(n),
        )
    )
    det = FallDetector()
    step = max(1, int(rate_hz * chunk_s))
    start = time.perf_counter()
    for i in range(0, n, step):
        det.feed(t[i : i + step], acc[i : i + step])
    det.flush()
    elapsed = time.perf_counter() - start
    return {
        "samples": float(n),
        "seconds": elapsed,
        "samples_per_s": n / elapsed,
        "rate_hz": rate_hz,
        "chunk_s": chunk_s,
    }
