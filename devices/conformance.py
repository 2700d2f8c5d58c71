"""Vendor conformance checker: listen to a live device's traffic and validate it against the contract.

``eldercare contract check DEVICE_ID --kind KIND [--seconds S]`` subscribes (QoS 1, read-only) to
``eldercare/v1/dev/{DEVICE_ID}/#`` and judges every message exactly as ingest would for a registered device of
that kind, then prints a report: accepted per message kind, refused per reason code with an example, and the
contract rules a vendor most often misses (a retained birth message, a last will, unique message ids).
"""

from __future__ import annotations

import json
import queue
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devices.errors import PayloadError, TopicError
from devices.payloads import DEVICE_KINDS, KIND_CHANNEL, decode
from devices.topics import ROOT, DeviceTopic


@dataclass
class Report:
    device_id: str
    kind: str
    seconds: float
    accepted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    ids: Counter[str] = field(default_factory=Counter)
    saw_retained_status: bool = False

    @property
    def duplicate_ids(self) -> int:
        return sum(n - 1 for n in self.ids.values() if n > 1)

    @property
    def ok(self) -> bool:
        return bool(self.accepted) and not self.refused and self.duplicate_ids == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device_id, "kind": self.kind, "seconds": self.seconds, "ok": self.ok,
            "accepted": dict(self.accepted), "refused": dict(self.refused), "examples": self.examples,
            "duplicate_ids": self.duplicate_ids, "retained_status": self.saw_retained_status,
        }  # fmt: skip


def judge(report: Report, topic: str, payload: bytes, retained: bool, prefix: str = "") -> None:
    """One message, judged as ingest would judge it for a registered device of ``report.kind`` (pure)."""

    def refuse(reason: str, detail: str) -> None:
        report.refused[reason] += 1
        report.examples.setdefault(reason, f"{topic}: {detail}"[:300])

    try:
        parsed = DeviceTopic.parse(topic, prefix)
    except TopicError as exc:
        refuse("unknown_topic", str(exc))
        return
    if parsed.channel.value == "cmd":
        return
    try:
        msg = decode(payload)
    except PayloadError as exc:
        refuse(exc.reason, exc.detail)
        return
    kind = msg.kind  # type: ignore[attr-defined]
    if msg.device is not None and msg.device != parsed.device_id:
        refuse("device_mismatch", f"payload device {msg.device!r}")
    elif KIND_CHANNEL[kind] is not parsed.channel:
        refuse("wrong_channel", f"{kind} belongs on {KIND_CHANNEL[kind].value}")
    elif kind not in DEVICE_KINDS[report.kind]:
        refuse("kind_not_allowed", f"a {report.kind} may not send {kind}")
    elif abs((msg.ts - datetime.now(UTC)).total_seconds()) > 300 and not (kind == "status" and retained):
        refuse("clock", f"ts {msg.ts.isoformat()} is more than 5 min from now: is the device clock set?")
    else:
        report.accepted[kind] += 1
        if kind == "status" and retained:
            report.saw_retained_status = True
    if not retained:
        report.ids[msg.id] += 1


def check_live(host: str, port: int, device_id: str, kind: str, seconds: float, *, prefix: str = "",
               username: str | None = None, password: str | None = None) -> Report:  # fmt: skip
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.subscribeoptions import SubscribeOptions

    if kind not in DEVICE_KINDS:
        raise ValueError(f"unknown device kind {kind!r}; known: {', '.join(sorted(DEVICE_KINDS))}")
    root = f"{prefix}/{ROOT}" if prefix else ROOT
    inbox: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"conformance-{device_id}"[:64], protocol=mqtt.MQTTv5)
    if username:
        client.username_pw_set(username, password)
    client.on_message = lambda _c, _u, m: inbox.put((m.topic, bytes(m.payload), bool(m.retain)))
    # Retain-as-published (MQTT 5 section 3.8.3.1) so that a live birth message shows whether it was retained.
    opts = SubscribeOptions(qos=1, retainAsPublished=True)
    client.on_connect = lambda c, _u, _f, _r, _p: c.subscribe(f"{root}/dev/{device_id}/#", options=opts)
    client.connect(host, port)
    client.loop_start()
    report = Report(device_id, kind, seconds)
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                topic, payload, retained = inbox.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            judge(report, topic, payload, retained, prefix)
    finally:
        client.disconnect()
        client.loop_stop()
    return report


def render(report: Report) -> str:
    lines = [f"device {report.device_id} ({report.kind}), {report.seconds:.0f} s: {'PASS' if report.ok else 'FAIL'}"]
    lines += [f"  accepted {n:>6}  {k}" for k, n in sorted(report.accepted.items())]
    lines += [f"  REFUSED  {n:>6}  {r}: {report.examples[r]}" for r, n in sorted(report.refused.items())]
    if report.duplicate_ids:
        lines.append(
            f"  REFUSED  {report.duplicate_ids:>6}  message ids used twice (each id must be unique per device)"
        )
    if not report.saw_retained_status:
        lines.append("  note: no retained status (birth message) seen; publish one on connect, retained, QoS 1")
    if not report.accepted and not report.refused:
        lines.append("  note: no traffic at all; is the device connected and publishing under this id?")
    return "\n".join(lines) + "\n" + json.dumps(report.to_dict(), ensure_ascii=False)
