"""``eldercare db ...``: schema migrations and maintenance."""

from __future__ import annotations

import argparse

from common.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="database: migrate, maintain")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    dsub.required = True
    st = sub.add_parser("settings", help="print the settings in effect (passwords masked), or their documentation")
    st.add_argument("--markdown", action="store_true", help="print docs/settings.md (all settings, defaults, meaning)")
    st.set_defaults(func=_settings)
    m = dsub.add_parser("migrate", help="create the database if needed and apply pending migrations")
    m.add_argument("--no-timescaledb", action="store_true", help="do not create the timescaledb extension")
    m.set_defaults(func=_migrate)
    mt = dsub.add_parser(
        "maintain",
        help="refresh rollups and apply retention where TimescaleDB policies are not available",
    )
    mt.add_argument("--retention-days", type=int, default=400, help="raw data kept this long (default 400)")
    mt.set_defaults(func=_maintain)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from common.db import redact
    from common.migrate import migrate

    applied = migrate(settings.database_url, use_timescaledb=not args.no_timescaledb)
    where = redact(settings.database_url)
    print(f"applied {len(applied)} migration(s) to {where}" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def _maintain(args: argparse.Namespace, settings: Settings) -> int:
    from common.maintenance import run_maintenance

    for line in run_maintenance(settings.database_url, retention_days=args.retention_days):
        print(line)
    return 0


def _settings(args: argparse.Namespace, settings: Settings) -> int:
    from common.db import redact
    from common.settings import settings_markdown

    if args.markdown:
        print(settings_markdown(), end="")
        return 0
    for name, value in settings.model_dump().items():
        shown = redact(str(value)) if name == "database_url" else "***" if "password" in name and value else value
        print(f"ELDERCARE_{name.upper()}={shown}")
    return 0
