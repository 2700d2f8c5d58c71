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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from alerts.activity import CONTEXTS
from alerts.baseline import context_group

# Frailty shapes: 1e9 stands for the exponential (no heterogeneity).
K_GRID: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 50.0, 1e9)


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


@dataclass
class TailModel:
    """Per-context posterior over the frailty shape ``k`` of silence durations.

    ``prior`` gives the prior log-weight of each grid point (default: uniform over the grid, which is roughly
    uniform in log k); ``group_weight`` is the share of the other contexts' evidence a context borrows.
    """

    group_weight: float = 1.0
    prior: tuple[float, ...] = field(default_factory=lambda: tuple(0.0 for _ in K_GRID))
    loglik: dict[str, list[float]] = field(default_factory=lambda: {c: [0.0] * len(K_GRID) for c in CONTEXTS})
    count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONTEXTS, 0))
    _weights: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def observe(self, context: str, lam: float) -> None:
        """A silence in ``context`` ended after ``Λ = lam`` expected bouts."""
        if not math.isfinite(lam) or lam < 0:
            return
        row = self.loglik[context]
        for i, k in enumerate(K_GRID):
            row[i] += _log_density(lam, k)
        self.count[context] += 1
        group = context_group(context)
        for member in CONTEXTS:
            if context_group(member) == group:
                self._weights.pop(member, None)

    def weights(self, context: str) -> list[float]:
        """Posterior weights of the grid for a context (cached until new evidence arrives)."""
        cached = self._weights.get(context)
        if cached is not None:
            return cached
        group = context_group(context)
        others = [c for c in CONTEXTS if c != context and context_group(c) == group]
        total = [
            self.prior[i] + self.loglik[context][i] + self.group_weight * sum(self.loglik[c][i] for c in others)
            for i in range(len(K_GRID))
        ]
        top = max(total)
        raw = [math.exp(t - top) for t in total]
        norm = sum(raw)
        out = [r / norm for r in raw]
        self._weights[context] = out
        return out

    def survival(self, context: str, lam: float) -> float:
        """Posterior-predictive chance that a silence of this context lasts beyond ``Λ = lam``."""
        return sum(w * lomax_survival(lam, k) for w, k in zip(self.weights(context), K_GRID, strict=True))

    def typical_k(self, context: str) -> float:
        """Posterior median of ``k`` (for explanations and evidence)."""
        return self.k_quantile(context, 0.5)

    def k_quantile(self, context: str, q: float) -> float:
        acc = 0.0
        for w, k in zip(self.weights(context), K_GRID, strict=True):
            acc += w
            if acc >= q:
                return k
        return K_GRID[-1]

    def snapshot(self) -> dict[str, Any]:
        return {"loglik": {c: list(v) for c, v in self.loglik.items()}, "count": dict(self.count)}

    def restore(self, data: dict[str, Any]) -> None:
        for c in CONTEXTS:
            row = data.get("loglik", {}).get(c)
            self.loglik[c] = [float(x) for x in row] if row and len(row) == len(K_GRID) else [0.0] * len(K_GRID)
            self.count[c] = int(data.get("count", {}).get(c, 0))
        self._weights.clear()
