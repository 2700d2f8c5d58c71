"""The one entry point, ``eldercare``, with a subcommand for every role.

Each package contributes its subcommands through a ``register(subparsers)`` function in its own ``cli`` module,
imported here; the heavy modules behind a command are imported only when that command runs, so ``eldercare
--help`` stays fast and a command never pays for another's dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Packages whose ``cli.register`` adds subcommands, in help order.
_COMMAND_MODULES = (
    "common.db_cli",
    "devices.cli",
    "ingest.cli",
    "simulator.cli",
    "alerts.cli",
    "dashboards.cli",
    "api.cli",
    "bench.cli",
    "common.demo_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eldercare",
        description="Smart eldercare IoT monitoring platform (MQTT -> TimescaleDB, fall and inactivity detection).",
        epilog="Settings come from ELDERCARE_* environment variables; see docs/settings.md.",
    )
    parser.add_argument("--log-level", default=None, help="override ELDERCARE_LOG_LEVEL (DEBUG, INFO, ...)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that package has no commands yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from common.settings import Settings

    settings = Settings()
    level = (args.log_level or settings.log_level).upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        rc = args.func(args, settings)
    except KeyboardInterrupt:
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
