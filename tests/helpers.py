"""Small helpers shared by tests (no fixtures here: those live in tests/plugins/)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psycopg

from common.db import connect
from devices.registry import load_registry, parse_registry

T = TypeVar("T")


def wait_for(fn: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last value {value!r})")
        time.sleep(interval)


def scalar(url: str, query: str, params: tuple[object, ...] = ()) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query.encode(), params).fetchone()  # type: ignore[call-overload]
    return row[0] if row else None


SMALL_REGISTRY = """
sites:
  - id: home-t1
    kind: home
    name: 测试之家
    family_bed: true
    rooms:
      - {id: home-t1-bedroom, name: 卧室, kind: bedroom}
      - {id: home-t1-entrance, name: 门厅, kind: entrance}
    beds: [{id: home-t1-b1, room: home-t1-bedroom, type: nursing}]
    residents:
      - id: r-t1
        name: 王奶奶
        birth_year: 1940
        lives_alone: true
        fall_risk: high
        key_elder: [living_alone, very_old]
        bed: home-t1-b1
        contacts: [{name: 王强, relation: 儿子, role: family, phone: "+8613800000001", order: 1}]
    devices:
      - {id: pir-1, kind: pir, room: home-t1-bedroom, safety_critical: true}
      - {id: door-1, kind: door_contact, room: home-t1-entrance}
      - {id: wear-1, kind: wearable, resident: r-t1}
      - {id: bed-1, kind: bed_sensor, bed: home-t1-b1}
      - {id: radar-1, kind: radar, room: home-t1-bedroom}
"""


def load_small_registry(url: str, extra_devices: int = 0) -> None:
    text = SMALL_REGISTRY
    if extra_devices:
        text += "".join(f"      - {{id: pir-x{i}, kind: pir}}\n" for i in range(extra_devices))
    with connect(url) as conn:
        load_registry(conn, parse_registry(text))


def read_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
