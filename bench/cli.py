"""``eldercare bench ingest|simulate|detect``: reproducible benchmarks printing figures (and ``--json``)."""

from __future__ import annotations

import argparse
import importlib

from common.settings import Settings

_BENCHES = {
    "ingest": ("bench.ingest", "MQTT -> TimescaleDB ingest vs broker ceiling, raw COPY and a naive ingestor"),
    "simulate": ("bench.simulate", "simulator publish rate over real MQTT (QoS 0 and 1)"),
    "detect": ("bench.detect", "sensor publish -> alert latency under background load; detector throughput"),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks: ingest, simulate, detect")
    bsub = p.add_subparsers(dest="bench_command", metavar="BENCH")
    bsub.required = True
    for name, (module_name, help_text) in _BENCHES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        b = bsub.add_parser(name, help=help_text, description=(module.__doc__ or help_text))
        module.add_arguments(b)
        b.set_defaults(func=_runner(module))


def _runner(module: object):
    def run(args: argparse.Namespace, settings: Settings) -> int:
        return int(module.main(args, settings))  # type: ignore[attr-defined]

    return run
