"""Exception tree of the simulator (drawn in ``simulator/__init__``)."""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error the simulator raises on purpose."""


class ScenarioError(SimulatorError):
    """A scenario file does not follow the schema (see docs/simulator.md)."""


class ReplayError(SimulatorError):
    """A replay input (Format A CSV or simulator JSONL) cannot be read."""
