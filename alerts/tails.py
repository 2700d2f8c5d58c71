"""How heavy-tailed this home's silences are, learned from its own closed silences (pure, no I/O).

The bout-hazard model (:mod:`alerts.baseline`) says how many new activity bouts a silence should have seen by now,
``Λ``, and a constant hazard turns that into ``S = exp(-Λ)``. Real silences are more varied than one Poisson
rate: the same kitchen at 19:00 is sometimes a two-minute snack and sometimes an hour in a chair the sensors do
not see. Such unobserved heterogeneity is a *frailty*: if a silence's own hazard is the model's times
``Z ~ Gamma(k, k)`` (mean 1), its survival is the Lomax ``S_k(Λ) = (1 + Λ/k)^-k`` -- exponential for ``k -> ∞``,
ever heavier for smaller ``k``.

``k`` is not set by hand: every closed silence contributes its log-likelihood ``-(k + 1) log(1 + Λ/k)`` for each
``k`` of a fixed grid (the ``Λ`` it had reached when it ended, computed by the model *before* it learned from it,
so the evidence is predictive, never in-sample), per context, and the survival used for alerting is the
posterior-predictive mixture ``Σ_k w_k S_k(Λ)``. A room where long quiet spells are normal (an armchair without a
sensor) thus earns a heavy tail and alerts later; a room where silences always end soon keeps the light tail.
Contexts of one group (every room is "up and about") share part of their evidence (``group_weight``), so a
room with little history borrows from the home's other rooms before its own record speaks.

The evidence is also kept per *part of the day* in which the silence began (night 0-6, morning 6-12, afternoon
12-18, evening 18-24 h): how varied silences are depends on what people do then -- an evening in front of the TV
is sometimes ten minutes and sometimes two hours, a morning of chores rarely so. A silence borrows the other parts
of the day's evidence with ``band_weight`` (default 0: each part of the day stands on its own, pooled over the
rooms of its group). Measured on five homes (docs/detection-activity.md): same false alerts, faster alerts in the
homes whose long quiet spells are evening ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from alerts.activity import CONTEXTS
from alerts.baseline import context_group

# Frailty shapes: 1e9 stands for the exponential (no heterogeneity).
K_GRID: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 50.0, 1e9)
BANDS = 4  # parts of the day: 0-6, 6-12, 12-18, 18-24 h


def day_band(hour: int) -> int:
    """Part of the day (0 night, 1 morning, 2 afternoon, 3 evening) of an hour 0-23."""
    return min(BANDS - 1, max(0, hour) // (24 // BANDS))


def lomax_survival(lam: float, k: float) -> float:
    """``S_k(Λ) = (1 + Λ/k)^-k`` (``exp(-Λ)`` for the exponential end of the grid)."""
    if k >= 1e8:
        return math.exp(-lam)
    return math.exp(-k * math.log1p(lam / k))


def log_normal_prior(center: float, width: float) -> tuple[float, ...]:
    """Prior log-weights over :data:`K_GRID`: normal in ``ln k`` around ``center`` (the exponential end of the
    grid counts as k = 200). A new home, or a context with little history, then assumes moderate heterogeneity
    rather than the extreme tails (k <= 1) under which no silence would ever be improbable."""
    mu = math.log(center)
    return tuple(-((math.log(min(k, 200.0)) - mu) ** 2) / (2.0 * width * width) for k in K_GRID)


def _log_density(lam: float, k: float) -> float:
    """Log-likelihood of a silence that ended at ``Λ`` (up to terms that do not depend on ``k``)."""
    if k >= 1e8:
        return -lam
    return -(k + 1.0) * math.log1p(lam / k)


def _key(context: str, band: int) -> str:
    return f"{context}@{band}"


@dataclass
class TailModel:
    """Per-context, per-part-of-the-day posterior over the frailty shape ``k`` of silence durations.

    ``prior`` gives the prior log-weight of each grid point (default: uniform over the grid, which is roughly
    uniform in log k); ``group_weight`` is the share of the other contexts' evidence a context borrows (same part
    of the day), ``band_weight`` the share of the group's evidence from the other parts of the day.
    """

    group_weight: float = 1.0
    band_weight: float = 0.0
    prior: tuple[float, ...] = field(default_factory=lambda: tuple(0.0 for _ in K_GRID))
    loglik: dict[str, list[float]] = field(
        default_factory=lambda: {_key(c, b): [0.0] * len(K_GRID) for c in CONTEXTS for b in range(BANDS)}
    )
    count: dict[str, int] = field(default_factory=lambda: {_key(c, b): 0 for c in CONTEXTS for b in range(BANDS)})
    _weights: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def observe(self, context: str, lam: float, band: int = 1) -> None:
        """A silence in ``context`` that began in part of the day ``band`` ended after ``Λ = lam`` expected bouts."""
        if not math.isfinite(lam) or lam < 0:
            return
        row = self.loglik[_key(context, band)]
        for i, k in enumerate(K_GRID):
            row[i] += _log_density(lam, k)
        self.count[_key(context, band)] += 1
        self._weights.clear()

    def weights(self, context: str, band: int = 1) -> list[float]:
        """Posterior weights of the grid for a context and part of the day (cached until new evidence arrives)."""
        key = _key(context, band)
        cached = self._weights.get(key)
        if cached is not None:
            return cached
        group = context_group(context)
        total = list(self.prior)
        for c in CONTEXTS:
            if context_group(c) != group:
                continue
            for b in range(BANDS):
                w = (1.0 if c == context else self.group_weight) * (1.0 if b == band else self.band_weight)
                if w:
                    row = self.loglik[_key(c, b)]
                    for i in range(len(K_GRID)):
                        total[i] += w * row[i]
        top = max(total)
        raw = [math.exp(t - top) for t in total]
        norm = sum(raw)
        out = [r / norm for r in raw]
        self._weights[key] = out
        return out

    def survival(self, context: str, lam: float, band: int = 1) -> float:
        """Posterior-predictive chance that a silence of this context and part of the day lasts beyond ``Λ``."""
        return sum(w * lomax_survival(lam, k) for w, k in zip(self.weights(context, band), K_GRID, strict=True))

    def typical_k(self, context: str, band: int = 1) -> float:
        """Posterior median of ``k`` (for explanations and evidence)."""
        return self.k_quantile(context, 0.5, band)

    def k_quantile(self, context: str, q: float, band: int = 1) -> float:
        acc = 0.0
        for w, k in zip(self.weights(context, band), K_GRID, strict=True):
            acc += w
            if acc >= q:
                return k
        return K_GRID[-1]

    def snapshot(self) -> dict[str, Any]:
        return {"version": 2, "loglik": {c: list(v) for c, v in self.loglik.items()}, "count": dict(self.count)}

    def restore(self, data: dict[str, Any]) -> None:
        """Inverse of :meth:`snapshot`; a version-1 snapshot (one row per context, all day) seeds every part of
        the day with its context's all-day evidence, the best guess until the parts of the day have their own."""
        rows, counts = data.get("loglik", {}), data.get("count", {})
        for c in CONTEXTS:
            for b in range(BANDS):
                key = _key(c, b)
                row = rows.get(key, rows.get(c))
                self.loglik[key] = [float(x) for x in row] if row and len(row) == len(K_GRID) else [0.0] * len(K_GRID)
                self.count[key] = int(counts.get(key, counts.get(c, 0)))
        self._weights.clear()
