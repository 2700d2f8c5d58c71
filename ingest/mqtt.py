"""paho-mqtt 2 adapter of the ingest worker: MQTT 5, persistent session, QoS 1, manual acknowledgement.

The callback copies, stamps and enqueues — nothing else (STYLE habit 4); it must never block for long or raise,
because paho's network thread also sends our PUBACKs and keep-alive PINGs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.fastclient import FastClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    mid: int
    qos: int
    topic: bytes
    payload: bytes
    received_at: float  # time.time() when paho handed it over
    generation: int  # connection generation: acks of an older connection must not be sent on a newer one


@dataclass(frozen=True)
class MqttOptions:
    host: str
    port: int
    client_id: str
    subscriptions: tuple[str, ...]
    session_expiry_s: int
    receive_maximum: int
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30


class IngestClient:
    """Receives device messages into ``sink``; :meth:`ack` acknowledges them once they are durable."""

    def __init__(self, options: MqttOptions, sink: queue.Queue[Received]) -> None:
        self.options = options
        self._sink = sink
        self.generation = 0
        self.connected = threading.Event()
        self._blocked_logged = False
        self._client = FastClient(
            CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if options.username:
            self._client.username_pw_set(options.username, options.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.fast_sink = self._on_publish_fast

    # -- paho callbacks (network thread) -------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self.generation += 1
        log.info(
            "connected to %s:%d (session present: %s)", self.options.host, self.options.port, flags.session_present
        )
        # Re-subscribing on a present session is harmless and covers an expired one.
        for topic in self.options.subscriptions:
            client.subscribe(topic, options=SubscribeOptions(qos=1))
        self.connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if reason != 0:
            log.warning("disconnected from broker (%s); paho reconnects", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Messages carrying MQTT 5 properties take paho's full path and arrive here.
        self._enqueue(Received(msg.mid, msg.qos, msg._topic, bytes(msg.payload), time.time(), self.generation))

    def _on_publish_fast(self, mid: int, qos: int, topic: bytes, payload: bytes) -> None:
        self._enqueue(Received(mid, qos, topic, payload, time.time(), self.generation))

    def _enqueue(self, item: Received) -> None:
        try:
            self._sink.put_nowait(item)
        except queue.Full:
            # Cannot happen while the broker honours our Receive Maximum (the queue is sized above it); if a
            # broker does not, block rather than drop: nothing is acknowledged meanwhile, so the broker holds
            # the rest.
            if not self._blocked_logged:
                log.warning("ingest queue full: network thread blocks until the writer catches up")
                self._blocked_logged = True
            self._sink.put(item)

    # -- API (any thread) ----------------------------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.options.session_expiry_s
        props.ReceiveMaximum = self.options.receive_maximum
        self._client.connect(
            self.options.host,
            self.options.port,
            keepalive=self.options.keepalive_s,
            clean_start=False,  # resume our session: messages queued while we were away are delivered
            properties=props,
        )
        self._client.loop_start()
        if not self.connected.wait(timeout):
            self._client.loop_stop()
            raise ConnectionError(f"no CONNACK from {self.options.host}:{self.options.port} within {timeout:.0f}s")

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge QoS 1 messages (in the order given: MQTT 5 section 4.6 ordering)."""
        self._client.ack_many(mids)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def stop(self) -> None:
        # No UNSUBSCRIBE: the session (and its subscription) must outlive us so the broker queues meanwhile.
        self._client.disconnect()
        self._client.loop_stop()
