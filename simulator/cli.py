"""``eldercare simulate``: run the simulated fleet (publish over MQTT or write JSON Lines), or replay a file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from simulator.clock import DAY_MS, default_start, iso, parse_start, realtime_start
from simulator.context import SimContext, SimOptions
from simulator.errors import SimulatorError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate homes and care facilities (residents, sensors, scenarios, faults) or replay a recording",
        description="Simulate a vendor fleet and publish its MQTT traffic (or write it with --output). "
        "See docs/simulator.md.",
    )
    add_arguments(p)
    p.set_defaults(func=main)


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("population")
    g.add_argument("--homes", type=int, default=10, help="homes (alone / empty-nest couples) [10]")
    g.add_argument("--facilities", type=int, default=0, help="care facilities [0]")
    g.add_argument("--beds", type=int, default=60, help="beds per facility (20 per floor; top floor = dementia) [60]")
    g.add_argument("--seed", type=int, default=1, help="master seed: same seed + start -> identical output [1]")
    g.add_argument("--scenario", help="scenario YAML (simulator/scenarios/examples.yaml)")
    t = p.add_argument_group("time")
    t.add_argument("--days", type=float, default=1.0, help="simulated days [1]")
    t.add_argument(
        "--speed",
        type=float,
        default=None,
        help="virtual seconds per wall second; 1 = real time (default), 0 = as fast as possible",
    )
    t.add_argument("--accelerated", action="store_true", help="same as --speed 0")
    t.add_argument(
        "--start",
        help="virtual start (ISO; local Asia/Shanghai without offset). Default: now for real "
        "time, else --days days before today's local midnight",
    )
    o = p.add_argument_group("output")
    o.add_argument("--output", help="write every message as JSON Lines to this file instead of publishing")
    o.add_argument("--labels", help="ground-truth labels (JSON Lines)")
    o.add_argument("--registry-out", help="write the fleet as a registry YAML file (eldercare registry load)")
    o.add_argument("--replay", help="publish a recorded stream: a Format A CSV or a simulator --output JSONL")
    o.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    b = p.add_argument_group("broker (defaults from ELDERCARE_MQTT_* settings)")
    b.add_argument("--host", help="broker host")
    b.add_argument("--port", type=int, help="broker port")
    b.add_argument("--prefix", help="topic prefix")
    b.add_argument("--username", help="broker user (shared connections)")
    b.add_argument("--password", help="broker password (shared connections)")
    b.add_argument("--qos", type=int, choices=(0, 1), default=1, help="publish QoS [1]")
    b.add_argument("--connections", type=int, default=4, help="shared MQTT connections [4]")
    b.add_argument("--processes", type=int, default=1, help="publisher worker processes (shared mode) [1]")
    b.add_argument(
        "--device-auth",
        action="store_true",
        help="one MQTT connection per device, username = device id, registry password, last will",
    )
    d = p.add_argument_group("device behaviour")
    d.add_argument("--accel-hz", type=float, default=50.0, help="wearable sample rate [50]")
    d.add_argument(
        "--accel-window",
        type=int,
        default=4,
        help="seconds of accelerometer batches around each activity change (0 = only falls) [4]",
    )
    d.add_argument("--status-interval", type=int, default=1800, help="status heartbeat period, s [1800]")
    d.add_argument("--bed-interval", type=int, default=120, help="bed report period while occupied, s [120]")
    d.add_argument("--ble-interval", type=int, default=180, help="BLE re-sighting period, s [180]")
    d.add_argument("--pir-blind", type=int, default=60, help="PIR blind time after a trigger, s [60]")
    d.add_argument("--offline-rate", type=float, default=0.01, help="background outages per device-day [0.01]")


def options_from_args(args: argparse.Namespace) -> SimOptions:
    return SimOptions(
        status_s=args.status_interval,
        bed_occupied_s=args.bed_interval,
        ble_interval_s=args.ble_interval,
        pir_blind_s=args.pir_blind,
        accel_hz=args.accel_hz,
        accel_window_s=args.accel_window,
        offline_per_day=args.offline_rate,
    )


def main(args: argparse.Namespace, settings: Any) -> int:
    try:
        return _main(args, settings)
    except SimulatorError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2


def _sink(args: argparse.Namespace, settings: Any, prefix: str, fleet: Any, paced: bool = False) -> Any:
    from simulator.output import JsonlSink

    if args.output:
        return JsonlSink(args.output)
    from simulator.publish import BrokerConfig, MqttSink

    cfg = BrokerConfig(
        host=args.host or settings.mqtt_host,
        port=args.port or settings.mqtt_port,
        username=args.username if args.username is not None else settings.mqtt_username,
        password=args.password if args.password is not None else settings.mqtt_password,
        qos=args.qos,
    )
    auth = {d.id: d.password for d in fleet.devices()} if args.device_auth else None
    # paced runs idle between messages: paho's loop thread keeps the keep-alive going then
    return MqttSink(
        cfg, connections=args.connections, processes=args.processes, device_auth=auth, prefix=prefix, threaded=paced
    )


def _main(args: argparse.Namespace, settings: Any) -> int:
    from simulator.output import LabelWriter

    prefix = (args.prefix if args.prefix is not None else settings.topic_prefix).strip("/")
    speed = 0.0 if args.accelerated else (1.0 if args.speed is None else args.speed)
    if args.replay:
        return _replay(args, settings, prefix, speed)
    from simulator.engine import run
    from simulator.fleet import build_fleet
    from simulator.registry import write_registry
    from simulator.scenarios import load_scenario

    opts = options_from_args(args)
    scenario = load_scenario(args.scenario) if args.scenario else None
    if args.start:
        start = parse_start(args.start)
    elif speed == 1.0:
        start = realtime_start()
    else:
        start = default_start(args.days)
    end = start + round(args.days * DAY_MS)
    fleet = build_fleet(args.seed, args.homes, args.facilities, args.beds, opts)
    if args.registry_out:
        write_registry(fleet, args.registry_out)
    ctx = SimContext(args.seed, prefix, start, end, opts)
    labels = LabelWriter(args.labels)
    sink = _sink(args, settings, prefix, fleet, paced=speed > 0)
    ok = True
    try:
        stats = run(fleet, ctx, scenario, sink, speed=speed, labels=labels, progress=not args.no_progress)
    finally:
        close_ok = sink.close()
        ok = close_ok is not False
        labels.close()
    n_dev = len(fleet.devices())
    summary = {
        "sites": len(fleet.sites),
        "residents": len(fleet.residents()),
        "devices": n_dev,
        "virtual_start": iso(start),
        "virtual_end": iso(end),
        "virtual_days": round(stats.virtual_days, 3),
        "messages": stats.messages,
        "wall_s": round(stats.wall_s, 2),
        "msgs_per_s": round(stats.messages / stats.wall_s) if stats.wall_s > 0 else None,
        "labels": stats.by_kind,
        "output": args.output or f"mqtt (qos {args.qos})",
        "delivered_all": ok,
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1), file=sys.stderr)
    return 0 if ok else 1


def _replay(args: argparse.Namespace, settings: Any, prefix: str, speed: float) -> int:
    from simulator import replay
    from simulator.clock import Pacer
    from simulator.engine import _paced_write
    from simulator.registry import write_registry

    path = Path(args.replay)
    now = int(time.time() * 1000)
    t0 = time.monotonic()
    if path.suffix.lower() == ".csv":
        fleet, msgs = replay.read_format_a(
            path,
            args.seed,
            end_before_ms=None if args.start else now,
            start_ms=parse_start(args.start) if args.start else None,
            prefix=prefix,
        )
        if args.registry_out:
            write_registry(fleet, args.registry_out)
        stream: Any = msgs
    else:
        first, last = replay.first_last_t(path)
        shift = (parse_start(args.start) - first) if args.start else (default_start(0, now) - DAY_MS // DAY_MS * 0)
        if not args.start:
            shift = now - 60_000 - last  # the recording ends a minute ago
        shift -= shift % 1000
        fleet = None
        stream = replay.read_jsonl(path, shift)
    sink = (
        _sink(args, settings, prefix, fleet, paced=speed > 0)
        if (args.output or not args.device_auth or fleet)
        else None
    )
    if sink is None:
        raise SimulatorError("--device-auth replay needs a Format A CSV (a JSONL recording has no registry)")
    count = 0
    pacer = None
    batch: list[Any] = []
    try:
        for m in stream:
            if pacer is None and speed > 0:
                pacer = Pacer(m[0], speed)
            batch.append(m)
            if len(batch) >= 5000:
                _paced_write(sink, batch, pacer) if pacer else sink.write(batch)
                count += len(batch)
                batch = []
        if batch:
            _paced_write(sink, batch, pacer) if pacer else sink.write(batch)
            count += len(batch)
    finally:
        ok = sink.close() is not False
    print(
        json.dumps(
            {"replayed": count, "file": str(path), "wall_s": round(time.monotonic() - t0, 2), "delivered_all": ok}
        ),
        file=sys.stderr,
    )
    return 0 if ok else 1
