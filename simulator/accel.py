"""Waist-worn accelerometer waveforms in g: posture, walking, bending, transitions and falls.

Axes of the simulated device: ``y`` points up along the trunk when standing (+1 g), ``z`` forward, ``x`` to the
left. Realism anchors (checked by ``tests/test_simulator_realism.py``):

- Walking: older adults' cadence is about 95-115 steps/min (1.6-1.9 Hz); vertical trunk acceleration at the
  waist oscillates by roughly +-0.2-0.5 g around 1 g (Moe-Nilssen & Helbostad 2004, J Biomech 37:121-126;
  Zijlstra & Hof 2003, Gait Posture 18:1-10).
- Falls: a pre-fall phase (walking/standing, sometimes a stumble), a free-fall phase where the acceleration
  magnitude dips below ~0.6 g (lower fall threshold in Bourke et al. 2007, Gait Posture 26:194-199), an impact
  whose peak at the trunk/waist is typically 2.5-6 g (Bourke 2007: upper threshold 3.5 g at the trunk;
  Kangas et al. 2008, Gait Posture 28:285-291; Klenk et al. 2011, Med Eng Phys 33:368-373 for real-world falls),
  then lying: orientation changed by ~90 degrees and near stillness (post-fall inactivity), either a long lie or
  a recovery (getting up) after some seconds to minutes.
"""

from __future__ import annotations

import numpy as np

# Gravity direction per posture (unit vectors in device axes).
POSTURE_G = {
    "standing": (0.0, 1.0, 0.0),
    "sitting": (0.05, 0.9, 0.42),
    "lying": (0.15, 0.1, -0.98),  # on the back
    "lying_side": (0.97, 0.12, 0.1),
}


def _unit(v: tuple[float, float, float]) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    return a / np.linalg.norm(a)


def still(g: np.random.Generator, posture: str, n: int, noise: float = 0.012) -> np.ndarray:
    """Resting in a posture: gravity plus sensor noise."""
    base = _unit(POSTURE_G.get(posture, POSTURE_G["standing"]))
    return base + g.normal(0.0, noise, (n, 3))


def walking(
    g: np.random.Generator,
    n: int,
    rate: float,
    *,
    cadence_hz: float | None = None,
    amp: float | None = None,
    phase: float | None = None,
) -> np.ndarray:
    """Gait: vertical oscillation at the step frequency, forward at the step frequency, sideways at half."""
    f = cadence_hz if cadence_hz is not None else g.uniform(1.6, 1.9)
    a = amp if amp is not None else g.uniform(0.2, 0.4)
    ph = phase if phase is not None else g.uniform(0, 2 * np.pi)
    t = np.arange(n) / rate
    w = 2 * np.pi * f * t + ph
    out = np.empty((n, 3))
    out[:, 0] = 0.09 * np.sin(w / 2) + g.normal(0, 0.03, n)
    out[:, 1] = 1.0 + a * np.sin(w) + 0.3 * a * np.sin(2 * w + 0.7) + g.normal(0, 0.03, n)
    out[:, 2] = 0.05 + 0.6 * a * np.sin(w + 1.2) + g.normal(0, 0.03, n)
    return out


def transition(g: np.random.Generator, frm: str, to: str, n: int) -> np.ndarray:
    """Smooth change of orientation (sitting down, lying down, standing up) with a small jolt."""
    a, b = _unit(POSTURE_G.get(frm, POSTURE_G["standing"])), _unit(POSTURE_G.get(to, POSTURE_G["standing"]))
    s = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))[:, None]
    v = a * (1 - s) + b * s
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    bump = np.exp(-((np.arange(n) - 0.8 * n) ** 2) / (2 * (0.05 * n + 1) ** 2))
    v[:, 1] += 0.25 * bump
    return v + g.normal(0, 0.02, (n, 3))


def bending(g: np.random.Generator, n: int) -> np.ndarray:
    """Bending forward to pick something up and straightening again (~60-80 degrees trunk flexion)."""
    ang = np.radians(g.uniform(55, 80)) * np.sin(np.linspace(0, np.pi, n))
    out = np.stack([np.zeros(n), np.cos(ang), np.sin(ang)], axis=1)
    return out + g.normal(0, 0.02, (n, 3))


def activity_window(g: np.random.Generator, frm: str, to: str, seconds: int, rate: float) -> np.ndarray:
    """Samples around an activity change: a few steps of walking, then settling into the new posture."""
    n = int(seconds * rate)
    n_walk = max(1, int(n * 0.55))
    n_tr = max(1, int(min(n - n_walk, 2.0 * rate)))
    parts = [walking(g, n_walk, rate) if frm != "lying" else transition(g, "lying", "standing", n_walk)]
    parts.append(transition(g, "standing", to, n_tr))
    rest = n - n_walk - n_tr
    if rest > 0:
        parts.append(bending(g, rest) if to == "standing" and g.random() < 0.3 else still(g, to, rest))
    return np.vstack(parts)[:n]


def fall(
    g: np.random.Generator,
    rate: float,
    *,
    pre_s: float = 4.0,
    post_s: float = 26.0,
    recover_after_s: float | None = None,
    peak_g: float | None = None,
) -> tuple[np.ndarray, int]:
    """A fall episode; returns (samples, index of the impact sample).

    Phases: pre-fall walking (with a stumble), free fall (0.3-0.5 s, magnitude < 0.6 g), impact (peak
    ``peak_g``, 2.5-6 g, damped over ~0.3 s), post-fall lying stillness, optional recovery (getting up).
    """
    n_pre = int(pre_s * rate)
    pre = walking(g, n_pre, rate)
    # stumble: a short irregular jolt in the last half second before losing balance
    k = max(1, int(0.4 * rate))
    pre[-k:] += g.normal(0, 0.25, (k, 3))
    n_ff = max(2, int(g.uniform(0.3, 0.5) * rate))
    dip = g.uniform(0.12, 0.45)
    start_v = pre[-1]
    mags = np.linspace(1.0, dip, n_ff)[:, None]
    direction = _unit((g.normal(0, 0.2), 1.0, g.normal(0.3, 0.2)))
    ff = direction * mags + g.normal(0, 0.02, (n_ff, 3))
    ff[0] = start_v * 0.5 + ff[0] * 0.5
    peak = peak_g if peak_g is not None else g.uniform(2.6, 5.8)
    n_imp = max(4, int(0.35 * rate))
    t = np.arange(n_imp) / rate
    lying = _unit(POSTURE_G["lying_side" if g.random() < 0.4 else "lying"])
    imp_dir = _unit((g.normal(0, 0.5), g.uniform(0.3, 1.0), g.normal(-0.8, 0.3)))
    envelope = np.exp(-t / 0.06) * np.cos(2 * np.pi * 9 * t)
    imp = lying[None, :] * (1 - np.exp(-t / 0.05))[:, None] + (peak - 0.3) * envelope[:, None] * imp_dir[None, :]
    imp[0] = imp_dir * peak  # the impact sample itself carries the peak magnitude
    imp += g.normal(0, 0.05, (n_imp, 3))
    n_post = int(post_s * rate)
    post = lying + g.normal(0, 0.008, (n_post, 3))
    if recover_after_s is not None and recover_after_s < post_s:
        i = int(recover_after_s * rate)
        n_up = min(n_post - i, int(3.0 * rate))
        if n_up > 0:
            post[i : i + n_up] = transition(g, "lying", "standing", n_up)
            post[i + n_up :] = still(g, "standing", n_post - i - n_up, 0.02)
    samples = np.vstack([pre, ff, imp, post])
    return np.clip(samples, -16.0, 16.0), n_pre + n_ff


def encode_samples(samples: np.ndarray) -> str:
    """JSON array of [x, y, z] triples rounded to milli-g (compact, and exact for the JSON parser)."""
    rounded = np.round(samples, 3) + 0.0  # + 0.0 turns -0.0 into 0.0
    return repr(rounded.tolist()).replace(" ", "")
