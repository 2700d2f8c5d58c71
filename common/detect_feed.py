"""``eldercare detect``: the anomaly core as its own process, fed by its own MQTT subscription.

With one ingest worker, detection runs inside it (``eldercare ingest --detect``) on the decoded messages before
they are committed. With several ingest workers the shared subscription spreads a site's messages over all of
them, so no worker sees a whole home; then detection runs here instead: a persistent, non-shared MQTT 5 session
receives every device message, validates it with the same pipeline as ingest (rejects are ingest's job and are
only counted here), and hands accepted messages to :class:`alerts.worker.DetectionWorker` at once. Messages are
acknowledged as soon as detection has them: detection state is rebuilt from the database after a restart, so
nothing is gained by holding them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime

from common.settings import Settings
from ingest.mqtt import IngestClient, Received
from ingest.pipeline import Accepted, process
from ingest.service import device_root, limits_from, mqtt_options
from ingest.writer import BatchWriter, WriterUnavailable

log = logging.getLogger(__name__)


class DetectFeed:
    def __init__(self, settings: Settings) -> None:
        from alerts.worker import DetectionWorker

        self.settings = settings
        self.worker = DetectionWorker(settings)
        self._raw: queue.Queue[Received] = queue.Queue(maxsize=4 * settings.ingest_receive_maximum)
        self._client = IngestClient(
            mqtt_options(
                settings,
                settings.detect_client_id or f"{settings.ingest_client_id}-detect-feed",
                f"{device_root(settings)}/dev/#",  # not shared: detection must see every message of a site
            ),
            self._raw,
        )
        self._limits = limits_from(settings)
        self._registry = BatchWriter(settings.database_url, application_name="eldercare-detect-feed")
        self._devices = self._registry.load_devices()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="detect-feed", daemon=True)
        self.accepted = 0
        self.refused = 0

    def start(self) -> None:
        self.worker.start()
        self._thread.start()
        self._client.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._client.stop()
        self.worker.stop()
        self._registry.close()

    def _loop(self) -> None:
        next_refresh = time.monotonic() + self.settings.ingest_registry_refresh_s
        while not self._stop.is_set():
            try:
                first = self._raw.get(timeout=0.2)
            except queue.Empty:
                first = None
            items = [first] if first is not None else []
            while len(items) < 2000:
                try:
                    items.append(self._raw.get_nowait())
                except queue.Empty:
                    break
            accepted: list[Accepted] = []
            for item in items:
                out = process(
                    item.topic.decode("utf-8", "replace"), item.payload,
                    datetime.fromtimestamp(item.received_at, tz=UTC), self._devices, self._limits,
                )  # fmt: skip
                if isinstance(out, Accepted):
                    accepted.append(out)
                else:
                    self.refused += 1
            if accepted:
                self.accepted += len(accepted)
                self.worker.listener(accepted)
            if items:
                gen = self._client.generation
                self._client.ack_many([i.mid for i in items if i.qos == 1 and i.generation == gen])
            if time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + self.settings.ingest_registry_refresh_s
                try:
                    self._devices = self._registry.load_devices()
                except WriterUnavailable as exc:
                    log.warning("registry refresh failed: %s", exc)
