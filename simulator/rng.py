"""Deterministic random streams derived from the master seed.

Every entity (resident-day, device, scenario event) gets its own generator derived from the master seed and a
stable name with BLAKE2b, so adding one device or one scenario never shifts the randomness of the others, and
nothing depends on the global random state or on ``hash()`` of strings (salted per process).
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(master: int, *parts: object) -> int:
    """A 64-bit seed from the master seed and a path of names/numbers (stable across processes and runs)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str(int(master)).encode())
    for p in parts:
        h.update(b"\x1f")
        h.update(str(p).encode())
    return int.from_bytes(h.digest(), "big")


def rng(master: int, *parts: object) -> random.Random:
    """A :class:`random.Random` of its own for one entity (fast scalar draws)."""
    return random.Random(derive_seed(master, *parts))


def np_rng(master: int, *parts: object) -> np.random.Generator:
    """A numpy ``Generator(PCG64)`` of its own for one entity (vector draws: accelerometer waveforms)."""
    return np.random.Generator(np.random.PCG64(derive_seed(master, *parts)))


def token(master: int, *parts: object, length: int = 20) -> str:
    """A deterministic hex token (device passwords in the registry)."""
    h = hashlib.blake2b(digest_size=32, key=b"eldercare-sim-pw")
    h.update(str(derive_seed(master, *parts)).encode())
    return h.hexdigest()[:length]
