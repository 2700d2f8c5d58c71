"""Replay a recorded stream: the simulator's own ``--output`` JSONL, or a Format A home-activity CSV
(``ts,sensor,kind,room,value``, /work/shared/data/README.md) mapped onto simulated devices.

Format A mapping (one device per sensor, site ``replay-<file stem>``):

========================  ==================  =====================================================
CSV kind                  device kind         message
========================  ==================  =====================================================
motion, toilet            pir                 ``motion: true`` on 1 (a flush implies presence); 0 rows dropped
door, cabinet, appliance  door_contact        ``open: true/false`` (fridge/cupboard doors, appliances in use)
bed                       bed_sensor          ``occupied: true/false`` (no vitals in the source data)
seat                      radar               ``present``/``posture: sitting`` (a sofa pressure pad ~ presence)
other                     door_contact        ``open`` (generic binary contact)
========================  ==================  =====================================================

Timestamps are local times without a zone; they are read as Asia/Shanghai and shifted by whole days so the
stream ends before now (or starts at ``--start``), because the platform rejects data older than 40 days.
"""

from __future__ import annotations

import base64
import csv
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from devices.topics import Channel, DeviceTopic
from simulator.clock import DAY_MS, TZ, Rfc3339, local_midnight
from simulator.errors import ReplayError
from simulator.model import Area, Device, Fleet, Room, Site
from simulator.output import Msg
from simulator.rng import token

KIND_MAP = {
    "motion": "pir",
    "toilet": "pir",
    "door": "door_contact",
    "cabinet": "door_contact",
    "appliance": "door_contact",
    "bed": "bed_sensor",
    "seat": "radar",
    "other": "door_contact",
}
ROOM_NAMES = {
    "bedroom": "卧室",
    "bathroom": "卫生间",
    "kitchen": "厨房",
    "living": "客厅",
    "hall": "走廊",
    "entrance": "门厅",
    "other": "其他",
}


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s or "x"


def read_format_a(
    path: str | Path, seed: int = 0, end_before_ms: int | None = None, start_ms: int | None = None, prefix: str = ""
) -> tuple[Fleet, list[Msg]]:
    """Map a Format A CSV onto a one-home fleet and its messages (publish time = shifted CSV time)."""
    p = Path(path)
    stem = _slug(p.stem)
    sid = f"replay-{stem}"
    rows: list[tuple[int, str, str, str, int]] = []
    try:
        with p.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or set(reader.fieldnames) < {"ts", "sensor", "kind", "room", "value"}:
                raise ReplayError(f"{p}: expected header ts,sensor,kind,room,value")
            for line, row in enumerate(reader, 2):
                try:
                    dt = datetime.fromisoformat(row["ts"]).replace(tzinfo=TZ)
                    rows.append(
                        (int(dt.timestamp() * 1000), row["sensor"], row["kind"], row["room"], int(row["value"]))
                    )
                except (ValueError, TypeError, KeyError) as exc:
                    raise ReplayError(f"{p}:{line}: {exc}") from None
    except OSError as exc:
        raise ReplayError(f"cannot read {p}: {exc}") from None
    if not rows:
        raise ReplayError(f"{p}: no rows")
    first, last = rows[0][0], rows[-1][0]
    if start_ms is not None:
        shift = local_midnight(start_ms) - local_midnight(first)
    else:
        end = end_before_ms if end_before_ms is not None else first
        shift = local_midnight(end) - local_midnight(last) - DAY_MS if end_before_ms is not None else 0
    shift -= shift % DAY_MS
    site = Site(sid, "home", f"回放 {p.stem}", "replay", rooms=[])
    devices: dict[str, Device] = {}
    rooms: dict[str, Room] = {}
    for _t, sensor, kind, room, _v in rows:
        if room not in rooms:
            rooms[room] = Room(
                f"{sid}-{_slug(room)}", ROOM_NAMES.get(room, room), room if room in ROOM_NAMES else "other"
            )
        if sensor not in devices:
            dkind = KIND_MAP.get(kind)
            if dkind is None:
                raise ReplayError(f"{p}: unknown sensor kind {kind!r}")
            dev = Device(
                f"{sid}-{_slug(sensor)}",
                dkind,
                sid,
                "replay",
                f"FormatA-{kind}",
                "1.0",
                room=rooms[room].id,
                heartbeat_s=7 * 86400,
                password=token(seed, "device-password", sid, sensor),
                ts_format="rfc3339",
            )
            devices[sensor] = dev
    site.rooms = list(rooms.values())
    site.devices = list(devices.values())
    fleet = Fleet([Area("replay", "回放", "community")], [site])
    site.community = "replay"
    fmt = Rfc3339()
    seq: dict[str, int] = {}
    gidx = {d.id: i for i, d in enumerate(site.devices)}
    msgs: list[Msg] = []
    for t, sensor, _kind, _room, v in rows:
        dev = devices[sensor]
        if dev.kind == "pir":
            if not v:
                continue
            body = '"kind":"motion","motion":true'
        elif dev.kind == "door_contact":
            body = f'"kind":"door","open":{"true" if v else "false"}'
        elif dev.kind == "bed_sensor":
            body = f'"kind":"bed","occupied":{"true" if v else "false"}'
        else:
            body = (
                '"kind":"presence","present":true,"posture":"sitting","on_floor":false,"targets":1'
                if v
                else '"kind":"presence","present":false,"on_floor":false,"targets":0'
            )
        ts = t + shift
        n = seq[dev.id] = seq.get(dev.id, 0) + 1
        payload = f'{{"v":1,"id":"{n}","ts":"{fmt(ts)}",{body}}}'
        msgs.append((ts, gidx[dev.id], n, str(DeviceTopic(dev.id, Channel.TELEMETRY, prefix)), payload, False))
    msgs.sort()
    return fleet, msgs


def read_jsonl(path: str | Path, shift_ms: int = 0) -> Iterator[Msg]:
    """The simulator's own ``--output`` file; with ``shift_ms`` every timestamp is moved (payload ``ts`` too)."""
    p = Path(path)
    try:
        fh = p.open(encoding="utf-8")
    except OSError as exc:
        raise ReplayError(f"cannot read {p}: {exc}") from None
    with fh:
        for n, line in enumerate(fh, 1):
            try:
                rec = json.loads(line)
                t = _parse_t(rec["t"]) + shift_ms
                payload: str | bytes = rec["payload"] if "payload" in rec else base64.b64decode(rec["payload_b64"])
                topic = rec["topic"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ReplayError(f"{p}:{n}: {exc}") from None
            if shift_ms and isinstance(payload, str):
                payload = _shift_payload(payload, shift_ms)
            yield (t, 0, n, topic, payload, bool(rec.get("retain", False)))


def first_last_t(path: str | Path) -> tuple[int, int]:
    first = last = None
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            t = _parse_t(json.loads(line)["t"])
            first = t if first is None else first
            last = t
    if first is None or last is None:
        raise ReplayError(f"{path}: empty")
    return first, last


def _parse_t(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


_FMT = Rfc3339()


def _shift_payload(payload: str, shift_ms: int) -> str:
    try:
        obj: Any = json.loads(payload)
    except ValueError:
        return payload  # malformed on purpose: replay as recorded
    if not isinstance(obj, dict) or "ts" not in obj:
        return payload
    ts = obj["ts"]
    if isinstance(ts, int) and not isinstance(ts, bool):
        obj["ts"] = ts + shift_ms
    elif isinstance(ts, str):
        try:
            obj["ts"] = _FMT(_parse_t(ts) + shift_ms)
        except ValueError:
            return payload
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
