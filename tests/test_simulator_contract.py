"""Contract, determinism and registry tests of the simulator (issue 3 acceptance)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from common.settings import Settings
from devices.errors import PayloadError
from devices.payloads import DEVICE_KINDS, KIND_CHANNEL, decode
from devices.topics import DeviceTopic
from simulator.cli import register
from simulator.scenarios import DEVICE_KINDS as SCEN_DEVICE_KINDS
from simulator.scenarios import RESIDENT_KINDS

EXAMPLES = Path(__file__).resolve().parents[1] / "simulator" / "scenarios" / "examples.yaml"
START = "2025-03-03"  # a Monday, local midnight


def simulate(tmp: Path, *extra: str, seed: int = 11, days: str = "4") -> tuple[Path, Path, Path]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out, labels, reg = tmp / "out.jsonl", tmp / "labels.jsonl", tmp / "registry.yaml"
    args = parser.parse_args(
        [
            "simulate",
            "--homes",
            "6",
            "--facilities",
            "1",
            "--beds",
            "30",
            "--days",
            days,
            "--accelerated",
            "--seed",
            str(seed),
            "--start",
            START,
            "--output",
            str(out),
            "--labels",
            str(labels),
            "--registry-out",
            str(reg),
            "--no-progress",
            *extra,
        ]
    )
    assert args.func(args, Settings()) == 0
    return out, labels, reg


@pytest.fixture(scope="module")
def examples_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return simulate(tmp_path_factory.mktemp("ex"), "--scenario", str(EXAMPLES))


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_same_seed_gives_byte_identical_stream_and_labels(tmp_path: Path, examples_run) -> None:
    out, labels, reg = simulate(tmp_path, "--scenario", str(EXAMPLES))
    assert out.read_bytes() == examples_run[0].read_bytes()
    assert labels.read_bytes() == examples_run[1].read_bytes()
    assert reg.read_bytes() == examples_run[2].read_bytes()
    other = tmp_path / "other"
    other.mkdir()
    out2, _, _ = simulate(other, "--scenario", str(EXAMPLES), seed=12)
    assert out2.read_bytes() != out.read_bytes()


def _check(rec: dict, kinds: dict[str, str]) -> str | None:
    """None when the message satisfies the contract, else a reason code."""
    topic = DeviceTopic.parse(rec["topic"])
    if "payload_b64" in rec:
        return "malformed_json"
    try:
        msg = decode(rec["payload"])
    except PayloadError as exc:
        return exc.reason
    kind = msg.kind  # type: ignore[attr-defined]
    if kind not in DEVICE_KINDS[kinds[topic.device_id]] or KIND_CHANNEL[kind] != topic.channel:
        return "kind_not_allowed"
    published = datetime.fromisoformat(rec["t"].replace("Z", "+00:00"))
    if (msg.ts - published).total_seconds() > 300:
        return "future_timestamp"
    return None


def test_every_message_meets_the_contract_except_labelled_malformed(examples_run) -> None:
    out, labels, reg = examples_run
    registry = yaml.safe_load(reg.read_text(encoding="utf-8"))
    kinds = {d["id"]: d["kind"] for s in registry["sites"] for d in s["devices"]}
    bad: Counter[str] = Counter()
    n = 0
    for rec in _records(out):
        n += 1
        if _check(rec, kinds) is not None:
            bad[DeviceTopic.parse(rec["topic"]).device_id] += 1
    malformed = Counter(lab["details"]["device"] for lab in _records(labels) if lab["kind"] == "malformed")
    assert n > 50_000
    assert sum(malformed.values()) == 20  # 2 devices x count_messages 10
    assert bad == malformed


def test_without_fault_scenarios_nothing_is_malformed(tmp_path: Path) -> None:
    out, labels, reg = simulate(tmp_path, days="1")
    registry = yaml.safe_load(reg.read_text(encoding="utf-8"))
    kinds = {d["id"]: d["kind"] for s in registry["sites"] for d in s["devices"]}
    reasons = [r for rec in _records(out) if (r := _check(rec, kinds)) is not None]
    assert reasons == []
    assert all(lab["kind"] in {"device_offline", "false_fall_event"} for lab in _records(labels))


def test_stream_is_time_ordered_and_ids_unique_per_device(examples_run) -> None:
    recs = _records(examples_run[0])
    times = [r["t"] for r in recs]
    assert times == sorted(times)
    seen: dict[str, set[str]] = {}
    dups = 0
    for r in recs:
        if "payload" not in r:
            continue
        try:
            obj = json.loads(r["payload"])
        except ValueError:
            continue
        if not isinstance(obj, dict) or "id" not in obj:
            continue
        ids = seen.setdefault(r["topic"].split("/")[-2], set())
        if obj["id"] in ids:
            dups += 1
        ids.add(obj["id"])
    n_dup_labels = sum(1 for lab in _records(examples_run[1]) if lab["kind"] == "duplicate")
    assert dups == n_dup_labels > 0  # the only repeated ids are the injected duplicates


def test_labels_cover_every_scenario_kind(examples_run) -> None:
    labels = _records(examples_run[1])
    kinds = Counter(lab["kind"] for lab in labels)
    expected = {
        "fall",
        "long_lie",
        "no_morning_rise",
        "prolonged_bathroom",
        "not_returned_to_bed",
        "night_wandering",
        "zone_exit",
        "bed_exit",
        "sos",
        "device_failure",
        "device_silent",
        "duplicate",
        "out_of_order",
        "late_delivery",
        "clock_skew",
        "malformed",
    }
    assert expected <= set(kinds), expected - set(kinds)
    assert len(RESIDENT_KINDS) + len(SCEN_DEVICE_KINDS) == 15
    for lab in labels:
        assert set(lab) == {"time", "resident", "site", "kind", "details"}
        datetime.fromisoformat(lab["time"].replace("Z", "+00:00"))
    assert [lab["time"] for lab in labels] == sorted(lab["time"] for lab in labels)


def test_registry_describes_every_publishing_device(examples_run) -> None:
    out, _labels, reg = examples_run
    doc = yaml.safe_load(reg.read_text(encoding="utf-8"))
    assert {a["level"] for a in doc["areas"]} == {"city", "town", "community"}
    devices = {d["id"]: d for s in doc["sites"] for d in s["devices"]}
    publishing = {r["topic"].split("/")[-2] for r in _records(out)}
    assert publishing <= set(devices)
    for s in doc["sites"]:
        room_ids = {r["id"] for r in s["rooms"]}
        bed_ids = {b["id"] for b in s["beds"]}
        zone_ids = {z["id"] for z in s["zones"]}
        residents = {r["id"] for r in s["residents"]}
        for d in s["devices"]:
            assert d["kind"] in DEVICE_KINDS
            assert d["password"] and d["heartbeat_s"] > 0
            assert d["room"] is None or d["room"] in room_ids
            assert d["bed"] is None or d["bed"] in bed_ids
            assert d["zone"] is None or d["zone"] in zone_ids
            assert d["resident"] is None or d["resident"] in residents
        for r in s["residents"]:
            assert r["bed"] in bed_ids and r["fall_risk"] in {"low", "medium", "high"}
            assert r["contacts"] and r["contacts"][0]["order"] == 1
        if s["kind"] == "facility":
            assert any(z["secure"] for z in s["zones"]) and any(z["exit"] for z in s["zones"])
            assert all(r["ble_tag"] for r in s["residents"])
            assert {b["type"] for b in s["beds"]} >= {"dementia", "nursing"}
    homes = [s for s in doc["sites"] if s["kind"] == "home"]
    assert any(len(s["residents"]) == 2 for s in homes) and any(len(s["residents"]) == 1 for s in homes)
