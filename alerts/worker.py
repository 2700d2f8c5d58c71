"""The detection worker: runs the engine next to ingest, publishes alerts on MQTT, stores them in the database.

Threads (one job each)::

    ingest decoder thread --listener(list[Accepted])--> [input queue]          (returns at once)
    detect thread:  engine.process(message) / engine.tick(now) every detect_tick_s
                    -> publish alert JSON (QoS 1) at once  -> [store queue]
    store thread:   INSERT alert (idempotent by dedup_key), resolve ended conditions; on a database outage keep
                    the queue and retry with back-off; reload the registry every detect_registry_refresh_s

The MQTT publish never waits for the database (DESIGN.md section 1), and a database outage neither stops
publishing nor loses a row: the store queue is unbounded and drained in order once the database is back.

Start-up rebuilds the state from the database: device liveness (device_state + the newest raw rows), open
alerts (long lies in progress, devices already reported silent), cooldowns, and the routine monitors from
``detect_history_days`` of sensor history -- so a restart in the middle of a silence still alerts on time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from alerts.alert import Alert
from alerts.context import Registry
from alerts.convert import Incoming
from alerts.engine import DetectionEngine, EngineConfig
from alerts.records import Resolution, StoredAlert, alert_message, alert_row, dedup_key
from alerts.snapshot import restore_site, site_snapshot
from alerts.store import AlertStore, StoreUnavailable
from common.settings import Settings
from devices.topics import alert_topic

log = logging.getLogger(__name__)

REPLAY_EMIT_WINDOW = timedelta(hours=6)  # alerts that fell due while no worker ran: still worth sending


@dataclass
class WorkerStats:
    messages: int = 0
    ticks: int = 0
    alerts: int = 0
    published: int = 0
    stored: int = 0
    store_retries: int = 0
    detector_errors: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


class DetectionWorker:
    """``start()`` / ``stop()``; register :meth:`listener` with :class:`ingest.service.IngestService`."""

    def __init__(self, settings: Settings, config: EngineConfig | None = None) -> None:
        self.settings = settings
        self.stats = WorkerStats()
        self._config = config or EngineConfig(
            long_lie_stages_s=tuple(settings.detect_long_lie_stages_s),
            activity_tick=timedelta(seconds=settings.detect_activity_tick_s),
            recovery_grace=timedelta(seconds=settings.detect_recovery_grace_s),
            fusion_hold=timedelta(seconds=settings.detect_fusion_hold_s),
            bed_exit_minutes=settings.detect_bed_exit_minutes,
        )
        self._in: queue.SimpleQueue[Sequence[Incoming | _Emit]] = queue.SimpleQueue()
        self._out: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._store_stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._engine: DetectionEngine | None = None
        self._new_registry: Registry | None = None
        self._store = AlertStore(settings.database_url)
        client_id = settings.detect_client_id or f"{settings.ingest_client_id}-detect"
        self._mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if settings.mqtt_username:
            self._mqtt.username_pw_set(settings.mqtt_username, settings.mqtt_password)
        self._mqtt.max_inflight_messages_set(1000)
        self._mqtt.max_queued_messages_set(0)  # unbounded: an alert is never dropped while the broker is away
        self._mqtt.reconnect_delay_set(min_delay=1, max_delay=10)

    # --- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Rebuild state from the database (retrying while it is down), connect, start the threads."""
        now = datetime.now(UTC)
        registry = self._blocking(self._store.load_registry)
        engine = DetectionEngine(registry, self._config, now=now)
        startup = self._blocking(lambda: self._store.load_startup(registry, now))
        engine.restore_devices(startup.last_seen, startup.offline)
        engine.restore_alerts(startup.alerts, now)
        replayed = self._rebuild_activity(engine, registry, now)
        engine.take_resolved()  # conditions that ended in the replayed past are already closed or never opened
        self._engine = engine
        log.info(
            "detection state rebuilt: %d sites, %d devices (%d safety-critical), %d open/recent alerts",
            len(registry.sites), len(registry.devices), len(engine.health), len(startup.alerts),
        )  # fmt: skip
        self._mqtt.connect_async(self.settings.mqtt_host, self.settings.mqtt_port, keepalive=30)
        self._mqtt.loop_start()
        self._threads = [
            threading.Thread(target=self._detect_loop, name="detect", daemon=True),
            threading.Thread(target=self._store_loop, name="detect-store", daemon=True),
        ]
        for t in self._threads:
            t.start()
        for a in _not_yet_stored(replayed, startup.alerts, now):
            self._in.put([_Emit(a)])  # handed to the detect thread so publishing stays on one thread

    def _rebuild_activity(self, engine: DetectionEngine, registry: Registry, now: datetime) -> list[Alert]:
        """Routine monitors: restore each site's snapshot, then replay the stored history after it."""
        days = self.settings.detect_history_days
        if days <= 0:
            return []
        snapshots = self._blocking(self._store.load_snapshots)
        horizon = now - timedelta(days=days)
        replayed: list[Alert] = []
        t0 = time.monotonic()
        n_events = 0
        for site_id in registry.sites:
            since = horizon
            if site_id in snapshots:
                restored = restore_site(engine, site_id, snapshots[site_id])
                if restored is not None:
                    since = max(horizon, restored)
            readings = self._blocking(lambda s=site_id, t=since: self._store.site_history(registry, s, t, now))
            readings = [r for r in readings if r.ts > since]
            n_events += len(readings)
            replayed += engine.rebuild_activity(site_id, readings, now)
        log.info(
            "routine state: %d snapshots restored, %d events replayed in %.1f s",
            len(snapshots), n_events, time.monotonic() - t0,
        )  # fmt: skip
        return replayed

    def stop(self, timeout: float = 10.0) -> None:
        """Process what was handed in, publish, store what can be stored within ``timeout``, disconnect."""
        self._stopping.set()
        if self._threads:
            self._threads[0].join(timeout)
            if self._engine is not None and not self._threads[0].is_alive():
                self._out.put(("snapshot", self._snapshots()))  # the detect thread is done: state is ours
            self._store_stop.set()
            self._threads[1].join(timeout)
        self._mqtt.disconnect()
        self._mqtt.loop_stop()
        self._store.close()
        log.info("detection stopped: %s", self.stats)

    def __enter__(self) -> DetectionWorker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- ingest side ------------------------------------------------------------------------------------------

    def listener(self, accepted: Sequence[Incoming]) -> None:
        """Called by ingest's decoder thread before the database commit: enqueue and return."""
        self._in.put(accepted)

    # --- detect thread ----------------------------------------------------------------------------------------

    def _detect_loop(self) -> None:
        assert self._engine is not None
        engine = self._engine
        tick_s = self.settings.detect_tick_s
        next_tick = time.monotonic()
        next_snapshot = time.monotonic() + self.settings.detect_snapshot_s
        while True:
            try:
                batch: Sequence[Incoming | _Emit] | None = self._in.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                batch = None
                if self._stopping.is_set():
                    break
            if batch:
                for item in batch:
                    if isinstance(item, _Emit):
                        self._emit(item.alert)
                        continue
                    self.stats.messages += 1
                    self._run(engine.process, item)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + tick_s
                self.stats.ticks += 1
                if self._new_registry is not None:
                    engine.update_registry(self._new_registry, datetime.now(UTC))
                    self._new_registry = None
                self._run(engine.tick, datetime.now(UTC))
                if time.monotonic() >= next_snapshot:
                    next_snapshot = time.monotonic() + self.settings.detect_snapshot_s
                    self._out.put(("snapshot", self._snapshots()))
            for r in engine.take_resolved():
                self._out.put(("resolve", r))

    def _run(self, fn: Any, arg: Any) -> None:
        try:
            alerts = fn(arg)
        except Exception:  # a detector bug must not stop detection for everyone else
            self.stats.detector_errors += 1
            log.exception("detector failed on %r", arg)
            return
        for a in alerts:
            self._emit(a)

    def _emit(self, alert: Alert) -> None:
        raised_at = datetime.now(UTC)
        row = alert_row(alert, dedup_key(alert), raised_at)
        topic = alert_topic(self.settings.topic_prefix, alert.site_id or "unknown", alert.type)
        # Publish first: the alert reaches consumers whatever the database is doing.
        self._mqtt.publish(topic, alert_message(row), qos=1)
        self.stats.alerts += 1
        self.stats.published += 1
        self.stats.by_type[alert.type] = self.stats.by_type.get(alert.type, 0) + 1
        log.info("alert %s %s site=%s resident=%s ts=%s", alert.type, alert.severity, alert.site_id,
                 alert.resident_id, alert.ts.isoformat())  # fmt: skip
        self._out.put(("insert", row))

    # --- store thread -----------------------------------------------------------------------------------------

    def _store_loop(self) -> None:
        delay = 0.2
        pending: tuple[str, Any] | None = None
        next_refresh = time.monotonic() + self.settings.detect_registry_refresh_s
        while True:
            if pending is None:
                try:
                    pending = self._out.get(timeout=0.2)
                except queue.Empty:
                    if self._store_stop.is_set():
                        return
                    pending = None
            try:
                if pending is not None:
                    what, payload = pending
                    if what == "insert":
                        self._store.insert_alert(payload)
                        self.stats.stored += 1
                    elif what == "snapshot":
                        if payload:
                            self._store.save_snapshots(payload, datetime.now(UTC))
                    else:
                        self._store.resolve(payload)
                    pending = None
                    delay = 0.2
                if time.monotonic() >= next_refresh:
                    next_refresh = time.monotonic() + self.settings.detect_registry_refresh_s
                    self._new_registry = self._store.load_registry()
            except StoreUnavailable as exc:
                self.stats.store_retries += 1
                if self._store_stop.is_set():
                    log.error("database unavailable at shutdown; %d alert rows not stored: %s", self._backlog(), exc)
                    return
                log.warning("database unavailable (%s); alert rows kept, retrying in %.1fs", exc, delay)
                self._store_stop.wait(delay)
                delay = min(delay * 2, self.settings.detect_db_retry_max_s)

    def _snapshots(self) -> dict[str, dict[str, Any]]:
        engine = self._engine
        if engine is None:
            return {}
        out = {}
        for site_id in list(engine.sites):
            snap = site_snapshot(engine, site_id)
            if snap is not None:
                out[site_id] = snap
        return out

    def _backlog(self) -> int:
        return self._out.qsize() + 1

    # --- helpers ----------------------------------------------------------------------------------------------

    def _blocking(self, fn: Any) -> Any:
        delay = 0.5
        while True:
            try:
                return fn()
            except StoreUnavailable as exc:
                if self._stopping.is_set():
                    raise
                log.warning("database unavailable at start (%s); retrying", exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)


@dataclass(frozen=True, slots=True)
class _Emit:
    """An alert derived during the start-up replay, queued for publishing by the detect thread."""

    alert: Alert


def _not_yet_stored(replayed: list[Alert], stored: list[StoredAlert], now: datetime) -> list[Alert]:
    """Replayed alerts that fell due while no worker ran (recent, and no stored alert of that key since)."""
    out = []
    for a in replayed:
        if now - a.ts > REPLAY_EMIT_WINDOW:
            continue
        if any(
            s.site_id == a.site_id and s.type == a.type and s.resident_id == a.resident_id
            and s.ts >= a.ts - timedelta(hours=3)
            for s in stored
        ):  # fmt: skip
            continue
        out.append(a)
    return out


__all__ = ["DetectionWorker", "Resolution"]
