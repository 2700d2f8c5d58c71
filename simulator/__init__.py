"""Sensor simulator: residents, homes, care facilities, device models, scenarios, faults and ground truth.

It behaves like a third-party vendor fleet: it imports only the contract (:mod:`devices`) and the shared
settings/local-services helpers of :mod:`common`. See ``docs/simulator.md``.

Exceptions::

    SimulatorError
     ├── ScenarioError   a scenario file that does not follow the schema
     └── ReplayError     a replay input that cannot be read
"""

from simulator.errors import ReplayError, ScenarioError, SimulatorError

__all__ = ["ReplayError", "ScenarioError", "SimulatorError"]
