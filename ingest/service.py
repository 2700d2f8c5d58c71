"""The ingest worker: MQTT in, decoded messages out to detection at once, batches to the database, acks last.

Threads (one job each)::

    paho network thread --Received--> [raw queue, bounded by Receive Maximum]
        decoder thread: validate -> Accepted/Rejected; hands Accepted to listeners (detection) immediately;
                        forms a batch while the writer is busy (adaptive batching)
        --Batch--> [writer queue, one slot]
        writer thread:  commit batch (COPY, idempotent) -> PUBACK every message of it, in order

Backpressure: when the writer falls behind, acks stop, the broker stops sending once Receive Maximum messages
are unacknowledged and keeps the rest in our persistent session. Nothing is dropped anywhere.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from common.settings import Settings
from devices.topics import ROOT
from ingest.mqtt import IngestClient, MqttOptions, Received
from ingest.pipeline import Accepted, DeviceInfo, Ignored, Limits, Rejected, process
from ingest.writer import BatchWriter, WriterUnavailable

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[Accepted]], None]
CommitListener = Callable[[Sequence[Accepted], float], None]  # (batch, time.time() of the commit)


@dataclass
class Batch:
    items: list[Received] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    last_seen: dict[str, datetime] | None = None
    stop_marker: bool = False


@dataclass
class Stats:
    """Counters; each is written by one thread only, read by anyone (ints are safe under the GIL)."""

    received: int = 0
    stored: int = 0
    rejected: int = 0
    duplicates: int = 0
    ignored: int = 0
    acked: int = 0
    batches: int = 0
    db_retries: int = 0
    last_batch_size: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    commit_latency_ms: float = 0.0

    def snapshot(self) -> dict[str, object]:
        return {
            "received": self.received,
            "stored": self.stored,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "acked": self.acked,
            "batches": self.batches,
            "db_retries": self.db_retries,
            "reasons": dict(self.reasons),
        }


def device_root(settings: Settings) -> str:
    return f"{settings.topic_prefix}/{ROOT}" if settings.topic_prefix else ROOT


def mqtt_options(settings: Settings, client_id: str, subscription: str) -> MqttOptions:
    """Session options shared by every consumer of device traffic (ingest workers, the detection feed)."""
    return MqttOptions(
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        client_id=client_id,
        subscriptions=(subscription,),
        session_expiry_s=settings.ingest_session_expiry_s,
        receive_maximum=settings.ingest_receive_maximum,
        username=settings.mqtt_username,
        password=settings.mqtt_password,
    )


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_payload_bytes=settings.ingest_max_payload_bytes,
        max_future=timedelta(seconds=settings.ingest_max_future_s),
        max_past=timedelta(seconds=settings.ingest_max_past_s),
        topic_prefix=settings.topic_prefix,
    )


class IngestService:
    """Run with :meth:`start` / :meth:`stop` (or as a context manager)."""

    def __init__(
        self,
        settings: Settings,
        listeners: Sequence[Listener] = (),
        commit_listeners: Sequence[CommitListener] = (),
    ) -> None:
        self.settings = settings
        self.listeners = list(listeners)
        self.commit_listeners = list(commit_listeners)
        self.stats = Stats()
        rm = settings.ingest_receive_maximum
        self._raw: queue.Queue[Received] = queue.Queue(maxsize=2 * rm + 1000)
        self._batches: queue.Queue[Batch] = queue.Queue(maxsize=1)
        self._writer = BatchWriter(settings.database_url)
        # '#' rather than '+/+' so that off-grammar topics arrive and are kept as rejects.
        self._client = IngestClient(
            mqtt_options(
                settings,
                settings.ingest_client_id,
                f"$share/{settings.ingest_share_group}/{device_root(settings)}/dev/#",
            ),
            self._raw,
        )
        self._limits = limits_from(settings)
        self._devices: dict[str, DeviceInfo] = {}
        self._stopping = threading.Event()
        self._decoder_done = threading.Event()
        self._writer_done = threading.Event()
        # Set while the writer waits for work: the decoder hands over a batch only then (or when it is full),
        # so batches grow to what arrives during one commit — small at low load (low latency), large under load.
        self._writer_idle = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_seen: dict[str, datetime] = {}

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._devices = self._load_devices_blocking()
        log.info("registry: %d devices", len(self._devices))
        self._threads = [
            threading.Thread(target=self._decode_loop, name="ingest-decoder", daemon=True),
            threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True),
            threading.Thread(target=self._metrics_loop, name="ingest-metrics", daemon=True),
        ]
        for t in self._threads:
            t.start()
        self._client.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Drain: what was received is decoded, committed and acknowledged; then disconnect."""
        self._stopping.set()
        self._decoder_done.wait(timeout)
        self._writer_done.wait(timeout)
        self._client.stop()
        self._writer.close()
        log.info("ingest stopped: %s", self.stats.snapshot())

    def __enter__(self) -> IngestService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def backlog(self) -> int:
        return self._raw.qsize()

    # -- decoder thread ------------------------------------------------------------------------------------
    def _decode_loop(self) -> None:
        batch = Batch()
        flush_seen_at = time.monotonic() + 5.0
        batch_max = self.settings.ingest_batch_max
        hard_max = 4 * batch_max
        try:
            while True:
                stopping = self._stopping.is_set()
                try:
                    item = self._raw.get(timeout=0.05)
                except queue.Empty:
                    item = None
                    if stopping:
                        break
                if item is not None:
                    first_new = len(batch.accepted)
                    self._decode_into(batch, item)
                    limit = batch_max if self._writer_idle.is_set() else hard_max
                    while len(batch.items) < limit:
                        try:
                            self._decode_into(batch, self._raw.get_nowait())
                        except queue.Empty:
                            break
                    if len(batch.accepted) > first_new:
                        # Detection must not wait for the database (DESIGN.md section 1): listeners see each
                        # message as soon as it is decoded, before it is committed, even while the writer is stuck.
                        self._notify(batch.accepted[first_new:])
                if batch.items and (self._writer_idle.is_set() or len(batch.items) >= batch_max):
                    if time.monotonic() >= flush_seen_at:
                        batch.last_seen, self._last_seen = self._last_seen, {}
                        flush_seen_at = time.monotonic() + 5.0
                    try:
                        # While the writer is busy (or the database is down) keep decoding into a growing batch,
                        # up to a hard cap; only then block (the broker then holds the rest, unacknowledged).
                        if len(batch.items) >= hard_max:
                            self._batches.put(batch)
                        else:
                            self._batches.put_nowait(batch)
                    except queue.Full:
                        continue
                    batch = Batch()
            if batch.items:
                self._batches.put(batch)
            final = Batch(stop_marker=True, last_seen=self._last_seen or None)
            self._batches.put(final)
        finally:
            self._decoder_done.set()

    def _decode_into(self, batch: Batch, item: Received) -> None:
        self.stats.received += 1
        batch.items.append(item)
        topic = item.topic.decode("utf-8", "replace")
        received_at = datetime.fromtimestamp(item.received_at, tz=UTC)
        outcome = process(topic, item.payload, received_at, self._devices, self._limits)
        if isinstance(outcome, Accepted):
            batch.accepted.append(outcome)
            prev = self._last_seen.get(outcome.device_id)
            if prev is None or received_at > prev:
                self._last_seen[outcome.device_id] = received_at
        elif isinstance(outcome, Rejected):
            batch.rejected.append(outcome)
            self.stats.reasons[outcome.reason] += 1
        elif isinstance(outcome, Ignored):
            self.stats.ignored += 1

    def _notify(self, accepted: Sequence[Accepted]) -> None:
        # Detection must not wait for the database (DESIGN.md section 1): listeners see messages pre-commit.
        for fn in self.listeners:
            try:
                fn(accepted)
            except Exception:  # a detector bug must not stop ingest
                log.exception("listener %r failed", fn)

    # -- writer thread -------------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        next_refresh = time.monotonic() + self.settings.ingest_registry_refresh_s
        try:
            while True:
                self._writer_idle.set()
                try:
                    batch = self._batches.get(timeout=0.5)
                except queue.Empty:
                    batch = None
                self._writer_idle.clear()
                if batch is not None:
                    self._commit(batch)
                    if batch.stop_marker:
                        return
                if time.monotonic() >= next_refresh:
                    next_refresh = time.monotonic() + self.settings.ingest_registry_refresh_s
                    try:
                        self._devices = self._writer.load_devices()
                    except WriterUnavailable as exc:
                        log.warning("registry refresh failed: %s", exc)
        finally:
            self._writer_done.set()

    def _commit(self, batch: Batch) -> None:
        delay = 0.2
        while True:
            t0 = time.perf_counter()
            try:
                result = self._writer.write(batch.accepted, batch.rejected, batch.last_seen)
                break
            except WriterUnavailable as exc:
                self.stats.db_retries += 1
                log.warning("database unavailable (%s); retrying in %.1fs, nothing acknowledged", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        committed_at = time.time()
        self.stats.commit_latency_ms = (time.perf_counter() - t0) * 1000
        self.stats.batches += 1
        self.stats.last_batch_size = len(batch.items)
        self.stats.stored += result.stored
        self.stats.duplicates += len(result.duplicates)
        self.stats.rejected += result.rejects_written
        if result.duplicates:
            self.stats.reasons["duplicate"] += len(result.duplicates)
        for r in result.storage_errors:
            self.stats.reasons[r.reason] += 1
        gen = self._client.generation
        # Items received on an earlier connection are not acknowledged: the broker redelivers them and the copy
        # becomes a duplicate; acking their packet ids on the new connection could ack someone else's message.
        mids = [i.mid for i in batch.items if i.generation == gen and i.qos == 1]
        if mids:
            self._client.ack_many(mids)
        self.stats.acked += sum(1 for i in batch.items if i.generation == gen)
        for fn in self.commit_listeners:
            try:
                fn(batch.accepted, committed_at)
            except Exception:
                log.exception("commit listener %r failed", fn)

    # -- misc ----------------------------------------------------------------------------------------------
    def _load_devices_blocking(self) -> dict[str, DeviceInfo]:
        delay = 0.5
        while True:
            try:
                return self._writer.load_devices()
            except WriterUnavailable as exc:
                if self._stopping.is_set():
                    raise
                log.warning("database unavailable at start (%s); retrying", exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _metrics_loop(self) -> None:
        interval = self.settings.ingest_metrics_interval_s
        last = (time.monotonic(), self.stats.stored, self.stats.received)
        warned_backlog = False
        while not self._writer_done.wait(interval):
            now = (time.monotonic(), self.stats.stored, self.stats.received)
            dt = max(now[0] - last[0], 1e-9)
            backlog = self._raw.qsize()
            log.info(
                "ingest: %.0f msg/s in, %.0f rows/s stored, backlog %d, last batch %d in %.1f ms, rejects %d %s",
                (now[2] - last[2]) / dt, (now[1] - last[1]) / dt, backlog, self.stats.last_batch_size,
                self.stats.commit_latency_ms, self.stats.rejected, dict(self.stats.reasons) or "",
            )  # fmt: skip
            high = backlog > self.settings.ingest_receive_maximum // 2
            if high and not warned_backlog:
                log.warning("backlog above half of Receive Maximum: the writer is behind, acks slow down")
            warned_backlog = high
            last = now
