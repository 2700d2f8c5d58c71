"""Run ``eldercare ingest`` as a real OS process (so tests can kill -9 it) and publish over real MQTT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from common.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"ELDERCARE_{name.upper()}"] = str(value)
    return env


class IngestProcess:
    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "common.cli", "ingest", "--no-migrate"],
            env=settings_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -9
        return self.proc.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Publisher:
    """QoS 1 publisher that records which messages the broker acknowledged (PUBACK)."""

    def __init__(self, host: str, port: int, client_id: str, max_inflight: int = 1000) -> None:
        self.acked: set[int] = set()  # indexes of messages whose PUBACK arrived
        self._mid_to_index: dict[int, int] = {}
        self._early: set[int] = set()
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_publish(self, _c: object, _u: object, mid: int, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            return
        with self._lock:
            idx = self._mid_to_index.pop(mid, None)
            if idx is None:
                self._early.add(mid)  # PUBACK raced ahead of publish() returning the mid
            else:
                self.acked.add(idx)

    def publish(self, index: int, topic: str, payload: bytes, qos: int = 1) -> None:
        # MQTT packet ids are 16-bit and paho assigns them at publish() time, even to queued messages: keep
        # well below 65535 outstanding so that no id is reused while its first owner still awaits a PUBACK.
        while len(self._mid_to_index) > 20_000:
            time.sleep(0.005)
        # Never hold our lock while calling paho: its network thread takes paho's lock, then ours (callback).
        info = self.client.publish(topic, payload, qos=qos)
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
                self.acked.add(index)
            else:
                self._mid_to_index[info.mid] = index

    def wait_all_acked(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < n and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
