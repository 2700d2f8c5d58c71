"""``eldercare contract ...``, ``eldercare registry ...``, ``eldercare provision ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("contract", help="the vendor MQTT contract: export JSON Schemas + AsyncAPI")
    csub = c.add_subparsers(dest="contract_command", metavar="ACTION")
    csub.required = True
    e = csub.add_parser("export", help="write one JSON Schema per message kind and asyncapi.json to DIR")
    e.add_argument("directory", type=Path)
    e.set_defaults(func=_export)
    g = csub.add_parser("guide", help="print the vendor integration guide (docs/vendor-guide.md)")
    g.set_defaults(func=_guide)
    ck = csub.add_parser("check", help="conformance: validate a live device's traffic for a while")
    ck.add_argument("device_id")
    ck.add_argument("--kind", required=True, help="device kind (bed_sensor, pir, door_contact, radar, ...)")
    ck.add_argument("--seconds", type=float, default=60.0, help="how long to listen (default 60)")
    ck.set_defaults(func=_check)
    v = csub.add_parser("validate", help="validate a payload file (JSON) against the contract")
    v.add_argument("file", type=Path)
    v.set_defaults(func=_validate)

    r = sub.add_parser("registry", help="device registry: load a site description")
    rsub = r.add_subparsers(dest="registry_command", metavar="ACTION")
    rsub.required = True
    ld = rsub.add_parser("load", help="import a registry YAML file idempotently (see docs/registry.md)")
    ld.add_argument("file", type=Path)
    ld.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations first")
    ld.set_defaults(func=_load)

    p = sub.add_parser("provision", help="device credentials: generate broker password and ACL files")
    psub = p.add_subparsers(dest="provision_command", metavar="ACTION")
    psub.required = True
    b = psub.add_parser("broker", help="write mosquitto passwd + acl for every registered device with a password")
    b.add_argument("directory", type=Path)
    b.add_argument(
        "--service-user",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help="platform service account (ingest, alerts); repeatable",
    )
    b.set_defaults(func=_provision)


def _export(args: argparse.Namespace, _settings: Settings) -> int:
    from devices.export import export

    for path in export(args.directory):
        print(path)
    return 0


def _guide(_args: argparse.Namespace, _settings: Settings) -> int:
    from devices.export import vendor_guide_markdown

    print(vendor_guide_markdown(), end="")
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from devices.conformance import check_live, render

    report = check_live(
        settings.mqtt_host, settings.mqtt_port, args.device_id, args.kind, args.seconds,
        prefix=settings.topic_prefix, username=settings.mqtt_username, password=settings.mqtt_password,
    )  # fmt: skip
    print(render(report))
    return 0 if report.ok else 1


def _validate(args: argparse.Namespace, _settings: Settings) -> int:
    from devices.errors import PayloadError
    from devices.payloads import decode

    try:
        msg = decode(args.file.read_bytes())
    except PayloadError as exc:
        print(f"INVALID {exc.reason}: {exc.detail}")
        return 1
    print(f"OK {msg.kind} {msg.id} {msg.ts.isoformat()}")  # type: ignore[attr-defined]
    return 0


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from common.db import connect
    from common.migrate import migrate
    from devices.registry import RegistryError, load_registry, read_registry

    try:
        reg = read_registry(args.file)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.no_migrate:
        migrate(settings.database_url)
    with connect(settings.database_url) as conn:
        counts = load_registry(conn, reg)
    print("loaded " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" from {args.file}")
    return 0


def _provision(args: argparse.Namespace, settings: Settings) -> int:
    from common.db import connect
    from devices.credentials import write_broker_files

    services: dict[str, str] = {}
    for spec in args.service_user:
        user, sep, pw = spec.partition(":")
        if not sep or not user or not pw:
            print(f"error: --service-user wants USER:PASSWORD, got {spec!r}", file=sys.stderr)
            return 2
        services[user] = pw
    with connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT id, password_hash FROM device WHERE active AND password_hash IS NOT NULL ORDER BY id"
        ).fetchall()
    passwd, acl = write_broker_files(args.directory, [(r[0], r[1]) for r in rows], services, settings.topic_prefix)
    print(f"{len(rows)} device credential(s), {len(services)} service account(s): {passwd}, {acl}")
    return 0
