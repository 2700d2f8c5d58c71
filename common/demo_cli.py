"""``eldercare demo``: the whole platform on one machine, on embedded defaults.

Starts what is missing (a project-local PostgreSQL with TimescaleDB where installed, a Mosquitto with our
configuration; data in ``.eldercare/``), migrates, registers a simulated fleet, runs ingest (and detection), feeds
it with the sensor simulator, and prints a live summary. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse

from common.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the platform end to end on embedded defaults (own PostgreSQL + Mosquitto + simulator)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--homes", type=int, default=6, help="simulated homes (default 6)")
    p.add_argument("--facilities", type=int, default=1, help="simulated care facilities (default 1)")
    p.add_argument("--beds", type=int, default=20, help="beds per facility (default 20)")
    p.add_argument("--days", type=float, default=2, help="simulated days (default 2)")
    p.add_argument("--speed", type=float, default=1200, help="virtual seconds per wall second (default 1200)")
    p.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    p.add_argument("--scenario", default=None, help="scenario YAML (default simulator/scenarios/smoke.yaml)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    p.add_argument("--no-detect", action="store_true", help="run ingest without the detection worker")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between summary lines (default 2)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from common.demo import run_demo

    return run_demo(args, settings)
