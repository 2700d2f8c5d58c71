"""paho-mqtt 2 publisher adapter: MQTT 5, QoS 0/1, a few shared connections or one connection per device.

- Shared mode (default): ``connections`` clients (client ids ``{client_prefix}-{i}``), messages routed by device
  so each device's messages keep their order on one connection.
- ``device_auth``: one client per device, username = device id, password from the registry, and a retained last
  will (state offline) on the device's status topic, as a real device would connect.
- ``processes`` > 1 (shared mode): publishing runs in worker processes fed in batches, so the generator and the
  paho network loops do not share one GIL. Each device is pinned to one worker (order preserved).

QoS 1 uses a large in-flight window (paho's limit off, our own window of 1000 per connection) so the publisher is
not throttled to a default of 20 unacknowledged messages; :meth:`MqttSink.close` waits for every PUBACK.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import select
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from simulator.errors import SimulatorError
from simulator.output import Msg

# paho: 0 = no in-flight limit. Any positive limit makes paho re-scan its whole table of outgoing messages after
# every PUBACK (``_update_inflight``), O(outstanding) per acknowledgement; our own WINDOW bounds the outstanding.
INFLIGHT = 0


@dataclass(frozen=True)
class BrokerConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    qos: int = 1
    client_prefix: str = "eldercare-sim"
    keepalive: int = 60


class _Counter:
    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.error: str | None = None


WINDOW = 1000  # outstanding QoS 1 messages per connection (see Conn)


class Conn:
    """One MQTT 5 connection that publishes fast and never loses track of a PUBACK.

    - ``threaded=False`` (accelerated runs, benchmark): no network thread; ``publish`` writes straight to the
      socket and PUBACKs are read by :meth:`pump` (select + loop_read/loop_write/loop_misc), so no GIL
      ping-pong and no wake-up byte per message.
    - ``threaded=True`` (paced real-time runs): paho's own loop thread keeps the keep-alive going while idle.

    At QoS 1 at most :data:`WINDOW` messages are outstanding (message ids wrap at 65 535, and the broker's
    receive maximum applies); paho's own in-flight limit is switched off (see :data:`INFLIGHT`).
    """

    def __init__(  # noqa: PLR0917
        self,
        cfg: BrokerConfig,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        will: tuple[str, bytes] | None = None,
        threaded: bool = False,
    ) -> None:
        self.cfg, self.threaded = cfg, threaded
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
        self.c = c
        self.counter = _Counter()
        self.sent = 0
        user = username if username is not None else cfg.username
        if user is not None:
            c.username_pw_set(user, password if username is not None else cfg.password)
        c.max_inflight_messages_set(INFLIGHT)
        c.max_queued_messages_set(0)
        if will is not None:
            c.will_set(will[0], will[1], qos=1, retain=True)
        counter = self.counter

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
            if reason.is_failure:
                counter.error = str(reason)
            counter.connected.set()

        def on_publish(_c: Any, _u: Any, _mid: int, _rc: Any, _p: Any) -> None:
            with counter.lock:  # network thread: count only, never raise
                counter.n += 1

        c.on_connect = on_connect
        c.on_publish = on_publish
        c.connect(cfg.host, cfg.port, keepalive=cfg.keepalive)
        deadline = time.monotonic() + 15
        if threaded:
            c.loop_start()
            counter.connected.wait(15)
        else:
            while not counter.connected.is_set() and time.monotonic() < deadline:
                self.pump(0.05)
        if not counter.connected.is_set() or counter.error:
            self.close()
            raise SimulatorError(f"MQTT connect to {cfg.host}:{cfg.port} as {client_id} failed: {counter.error}")

    def pump(self, timeout: float = 0.0) -> None:
        if self.threaded:
            if timeout:
                time.sleep(timeout)
            return
        c = self.c
        sock = c.socket()
        if sock is None:
            return
        r, w, _x = select.select([sock], [sock] if c.want_write() else [], [], timeout)
        if r:
            c.loop_read()
        if w:
            c.loop_write()
        c.loop_misc()

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        qos = self.cfg.qos
        if qos and self.sent - self.counter.n >= WINDOW:
            while self.sent - self.counter.n >= WINDOW // 2:
                self.pump(0.002)
        self.c.publish(topic, payload, qos, retain)
        self.sent += 1
        if not self.threaded and self.sent % 256 == 0:
            self.pump(0.0)

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.counter.n < self.sent and time.monotonic() < deadline:
            self.pump(0.01)
        return self.counter.n >= self.sent

    def close(self) -> None:
        self.c.disconnect()
        if self.threaded:
            self.c.loop_stop()
        else:
            self.pump(0.01)


def make_client(cfg: BrokerConfig, client_id: str) -> tuple[mqtt.Client, _Counter]:
    """A connected client with paho's loop thread (baselines)."""
    conn = Conn(cfg, client_id, threaded=True)
    return conn.c, conn.counter


def publish_all(
    cfg: BrokerConfig,
    client_id: str,
    items: list[tuple[str, bytes, bool]],
    start_evt: Any = None,
    timeout: float = 600.0,
) -> tuple[float, float, int]:
    """Publish ``items`` on one fresh connection; return (start, end, completed). Used by workers and the bench."""
    conn = Conn(cfg, client_id)
    try:
        if start_evt is not None:
            while not start_evt.is_set():
                conn.pump(0.05)
        t0 = time.perf_counter()
        pub = conn.publish
        for topic, payload, retain in items:
            pub(topic, payload, retain)
        conn.flush(timeout)
        t1 = time.perf_counter()
        return t0, t1, conn.counter.n
    finally:
        conn.close()


def _worker(cfg: BrokerConfig, client_id: str, q: Any, done: Any) -> None:
    conn = Conn(cfg, client_id)
    while True:
        try:
            batch = q.get(timeout=1.0)
        except queue.Empty:
            conn.pump(0.0)  # keep-alive while the generator is busy
            continue
        if batch is None:
            break
        for topic, payload, retain in batch:
            conn.publish(topic, payload, retain)
    ok = conn.flush(300)
    conn.close()
    done.put((client_id, conn.sent, conn.counter.n, ok))


class MqttSink:
    """Publishes the simulator's ordered stream to a broker (see module docstring for the modes)."""

    def __init__(
        self,
        cfg: BrokerConfig,
        *,
        connections: int = 4,
        processes: int = 1,
        device_auth: dict[str, str | None] | None = None,
        prefix: str = "",
        threaded: bool = False,
    ) -> None:
        self.cfg = cfg
        self.count = 0
        self._conns: list[Conn] = []
        self._by_device: dict[str, int] = {}
        self._procs: list[Any] = []
        self._queues: list[Any] = []
        self._pending: list[list[tuple[str, bytes | str, bool]]] = []
        if device_auth is not None:
            from devices.topics import Channel, DeviceTopic

            for i, (dev_id, pw) in enumerate(sorted(device_auth.items())):
                will_topic = str(DeviceTopic(dev_id, Channel.STATUS, prefix))
                will = (
                    f'{{"v":1,"id":"will-{int(time.time())}","ts":{int(time.time() * 1000)},'
                    f'"kind":"status","state":"offline"}}'.encode()
                )
                self._conns.append(Conn(cfg, dev_id, dev_id, pw, (will_topic, will), threaded=threaded))
                self._by_device[dev_id] = i
            self._route = "device"
        elif processes > 1:
            ctx = mp.get_context("fork")
            self._done = ctx.Queue()
            for i in range(processes):
                q = ctx.Queue(maxsize=64)
                p = ctx.Process(target=_worker, args=(cfg, f"{cfg.client_prefix}-{i}", q, self._done), daemon=True)
                p.start()
                self._procs.append(p)
                self._queues.append(q)
                self._pending.append([])
            self._route = "process"
        else:
            for i in range(max(1, connections)):
                self._conns.append(Conn(cfg, f"{cfg.client_prefix}-{i}", threaded=threaded))
            self._route = "shared"

    def write(self, batch: list[Msg]) -> None:
        if self._route == "process":
            n = len(self._queues)
            for _pub, g, _n, topic, payload, retain in batch:
                self._pending[g % n].append((topic, payload, retain))
            for i, items in enumerate(self._pending):
                if len(items) >= 2000:
                    self._queues[i].put(items)
                    self._pending[i] = []
        elif self._route == "device":
            for _pub, _g, _n, topic, payload, retain in batch:
                self._conns[self._by_device[topic.rsplit("/", 2)[-2]]].publish(topic, payload, retain)
        else:
            n = len(self._conns)
            conns = self._conns
            for _pub, g, _n, topic, payload, retain in batch:
                conns[g % n].publish(topic, payload, retain)
        self.count += len(batch)

    def close(self, timeout: float = 300.0) -> bool:
        """Flush, wait for every completion (PUBACK at QoS 1), disconnect. True when nothing was lost."""
        ok = True
        if self._route == "process":
            for i, items in enumerate(self._pending):
                if items:
                    self._queues[i].put(items)
                self._queues[i].put(None)
            for _ in self._procs:
                _cid, _sent, _acked, w_ok = self._done.get(timeout=timeout)
                ok = ok and w_ok
            for p in self._procs:
                p.join(10)
            return ok
        for conn in self._conns:
            ok = conn.flush(timeout) and ok
        for conn in self._conns:
            conn.close()
        return ok

    def idle(self) -> None:
        """Serve keep-alives and acknowledgements while the paced engine waits."""
        for conn in self._conns:
            conn.pump(0.0)
