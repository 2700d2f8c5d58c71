"""``eldercare eval falls|activity`` (offline detector evaluation) and ``eldercare alerts list``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from common.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    from alerts.eval_activity import add_activity_parser
    from alerts.eval_falls import add_falls_parser

    ev = sub.add_parser("eval", help="evaluate detectors offline on datasets (falls, activity)")
    esub = ev.add_subparsers(dest="eval_command", metavar="WHAT")
    esub.required = True
    add_falls_parser(esub)
    add_activity_parser(esub)
    from common.scenario_eval import add_scenarios_parser

    add_scenarios_parser(esub)

    al = sub.add_parser("alerts", help="inspect alerts raised by the anomaly core")
    asub = al.add_subparsers(dest="alerts_command", metavar="ACTION")
    asub.required = True
    ls = asub.add_parser("list", help="print recent alerts from the database, newest first")
    ls.add_argument("--site", help="only this site id")
    ls.add_argument("--since", type=_iso, help="only alerts at or after this ISO time (e.g. 2026-03-01T00:00+08:00)")
    ls.add_argument("--limit", type=int, default=100, help="at most this many rows [100]")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=run_list)


def _iso(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give an offset (e.g. +08:00 or Z) so the time is unambiguous")
    return value


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.store import AlertStore, StoreUnavailable

    store = AlertStore(settings.database_url, application_name="eldercare-cli")
    try:
        rows = store.list_alerts(args.site, args.since, args.limit)
    except StoreUnavailable as exc:
        print(f"alerts list: database unavailable: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if args.json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False, default=str))
        return 0
    if not rows:
        print("no alerts")
        return 0
    print(f"{'ts (UTC)':<20} {'site':<14} {'resident':<10} {'type':<18} {'severity':<9} {'status':<12} explanation")
    for r in rows:
        ts = r["ts"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        stage = f" [stage {r['stage']}]" if r["stage"] else ""
        print(
            f"{ts:<20} {r['site_id']:<14} {r['resident_id'] or '-':<10} {r['type'] + stage:<18} "
            f"{r['severity']:<9} {r['status']:<12} {r['explanation_en']}"
        )
    return 0
