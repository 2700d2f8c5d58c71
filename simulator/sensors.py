"""Device models: each turns the timelines it can see into contract messages, with realistic imperfections.

A model is fed segments (:class:`simulator.model.Seg`) ahead of time and turns them into *observations* (a heap
of timed facts: someone entered, a candidate motion, a fall); :meth:`DeviceModel.advance` then processes
observations and its own timers in time order up to ``t1`` and emits messages. Messages are kept in a heap keyed
by publish time so the engine can merge all devices into one deterministic, time-ordered stream.
"""

from __future__ import annotations

import heapq
from typing import Any

from devices.topics import Channel, DeviceTopic
from simulator import accel
from simulator.clock import DAY_MS, MIN_MS
from simulator.context import SimContext
from simulator.faults import FaultState, FaultWindow, malform
from simulator.model import IN_BED, ON_FLOOR, POSTURE, Device, Seg
from simulator.rng import np_rng, rng

INF = 1 << 62
KEEPALIVE_S = 60  # MQTT keep-alive of the devices: the broker sends the will after 1.5 x this
# PIR: expected triggers per minute of presence for each activity (more movement, more triggers).
PIR_RATE = {
    "walk": 6.0,
    "cook": 3.0,
    "wash": 3.0,
    "visit": 2.0,
    "staff": 4.0,
    "wander": 5.0,
    "fall": 30.0,
    "toilet": 1.0,
    "eat": 0.8,
    "sit": 0.35,
    "rest_bed": 0.15,
    "nap": 0.05,
    "sleep": 0.03,
    "floor": 0.01,
}
# Bed movement index (0-100) by activity: restless while awake in bed, low in sleep.
BED_MOVEMENT = {"sleep": (4.0, 6.0), "nap": (5.0, 6.0), "rest_bed": (22.0, 12.0)}
Msg = tuple[int, int, int, str, "str | bytes", bool]


def _f1(x: float) -> str:
    return f"{x:.1f}"


class DeviceModel:
    """Base: message envelope, status heartbeat with battery drain, background outages, faults."""

    def __init__(self, dev: Device, ctx: SimContext, gidx: int) -> None:
        self.dev, self.ctx, self.gidx = dev, ctx, gidx
        self.r = rng(ctx.seed, "device", dev.id)
        self.t_tel = str(DeviceTopic(dev.id, Channel.TELEMETRY, ctx.prefix))
        self.t_evt = str(DeviceTopic(dev.id, Channel.EVENT, ctx.prefix))
        self.t_sta = str(DeviceTopic(dev.id, Channel.STATUS, ctx.prefix))
        self.seq = 0
        self.n = 0
        self.out: list[Msg] = []
        self.obs: list[tuple[int, int, int, str, Any]] = []
        self.nobs = 0
        self.epoch = dev.ts_format == "epoch"
        self.fmt = ctx.fmt
        self.faults: FaultState | None = None
        self.sys: list[tuple[int, int, str]] = []  # (time, n, "online"|"offline") birth / last-will messages
        self.battery0 = self.r.uniform(55, 100) if dev.battery_powered else None
        self.signal0 = self.r.randint(-88, -55)
        self.drain: tuple[int, int, float] | None = None  # (from, to, level at from): a dying battery
        self.next_status = ctx.start + self.r.randint(0, 4000)  # the birth message
        self.status_n = 0
        self._background_outages()

    # --- wiring ----------------------------------------------------------------------------------------------

    def feed(self, seg: Seg) -> None:
        """Turn a segment of a timeline this device can see into observations (override)."""

    def push(self, t: int, code: str, data: Any = None, order: int = 1) -> None:
        self.nobs += 1
        heapq.heappush(self.obs, (t, order, self.nobs, code, data))

    def fault_state(self) -> FaultState:
        if self.faults is None:
            self.faults = FaultState(rng(self.ctx.seed, "faults", self.dev.id))
        return self.faults

    def add_sys(self, t: int, state: str) -> None:
        self.nobs += 1
        heapq.heappush(self.sys, (t, self.nobs, state))

    def label(self, t: int, kind: str, details: dict[str, Any], resident: str | None = None) -> None:
        self.ctx.labels.add(t, self.dev.site, resident or self.dev.resident, kind, {"device": self.dev.id, **details})

    def _background_outages(self) -> None:
        p = self.ctx.opts.offline_per_day
        if p <= 0:
            return
        r = rng(self.ctx.seed, "outages", self.dev.id)
        day = self.ctx.start
        while day < self.ctx.end:
            if r.random() < p:
                a = day + r.randint(0, DAY_MS - 1)
                b = a + r.randint(5, 45) * MIN_MS
                if b < self.ctx.end:
                    self.fault_state().add(FaultWindow("offline", a, b))
                    self.add_sys(a + int(1.5 * KEEPALIVE_S * 1000), "offline")
                    self.add_sys(b, "online")
                    self.label(a, "device_offline", {"background": True, "duration_s": (b - a) // 1000})
            day += DAY_MS

    # --- emission --------------------------------------------------------------------------------------------

    def emit(self, ts: int, topic: str, body: str, retain: bool = False, force: bool = False) -> None:
        pub = ts
        pts = ts
        dup = 0
        variant = None
        f = self.faults
        if f is not None and f.windows:
            if not force and f.suppressed(ts):
                return
            for w in f.active(ts):
                k = w.kind
                if k == "clock_skew":
                    pts = ts + w.params["skew_ms"]
                elif k == "late_delivery":
                    pub = max(pub, ts + w.params["delay_ms"])
                elif k == "out_of_order":
                    if f.r.random() < w.params["probability"]:
                        pub += int(w.params["delay_ms"] * f.r.uniform(0.5, 1.5))
                        variant = variant or "ooo"
                elif k == "duplicates":
                    if f.r.random() < w.params["probability"]:
                        dup = f.r.randint(50, 5000)
                elif k == "malformed":
                    cnt = w.params.get("count")
                    if (cnt is not None and w.used < cnt) or (cnt is None and f.r.random() < w.params["probability"]):
                        w.used += 1
                        variant = f.r.choice(w.params["variants"])
        self.seq += 1
        mid = str(self.seq)
        tsj = str(pts) if self.epoch else f'"{self.fmt(pts)}"'
        payload: str | bytes
        if variant is not None and variant != "ooo":
            fut = pts + 2 * DAY_MS
            payload = malform(
                variant, self.dev.kind, mid, tsj, body, future_ts_json=str(fut) if self.epoch else f'"{self.fmt(fut)}"'
            )
            self.label(ts, "malformed", {"variant": variant, "message_id": mid, "topic": topic})
        else:
            payload = f'{{"v":1,"id":"{mid}","ts":{tsj},{body}}}'
            if variant == "ooo":
                self.label(ts, "out_of_order", {"message_id": mid, "delay_s": round((pub - ts) / 1000, 3)})
        self.n += 1
        heapq.heappush(self.out, (pub, self.gidx, self.n, topic, payload, retain))
        if dup:
            self.n += 1
            heapq.heappush(self.out, (pub + dup, self.gidx, self.n, topic, payload, retain))
            self.label(ts, "duplicate", {"message_id": mid, "topic": topic})

    def battery(self, t: int) -> float | None:
        if self.battery0 is None:
            return None
        if self.drain is not None and t >= self.drain[0]:
            a, b, lvl = self.drain
            return max(0.0, lvl * (1 - (t - a) / max(1, b - a)))
        days = (t - self.ctx.start) / DAY_MS
        if self.dev.kind == "wearable":  # charged every few days: a saw-tooth between ~30 % and 100 %
            return 100.0 - ((days * 22.0 + (100 - self.battery0)) % 70.0)
        return max(1.0, self.battery0 - 0.04 * days)

    def status_body(self, t: int, state: str) -> str:
        b = self.battery(t)
        sig = self.signal0 + self.r.randint(-4, 4)
        bat = "" if b is None else f',"battery":{b:.1f}'
        return f'"kind":"status","state":"{state}"{bat},"signal":{min(0, sig)},"firmware":"{self.dev.firmware}"'

    def _status(self, t1: int) -> None:
        period = self.ctx.opts.status_s * 1000
        while True:
            sys_t = self.sys[0][0] if self.sys else INF
            if min(sys_t, self.next_status) >= t1:
                return
            if sys_t <= self.next_status:
                t, _n, state = heapq.heappop(self.sys)
                # the last will is published by the broker, not by the (dead or unreachable) device
                self.emit(t, self.t_sta, self.status_body(t, state), retain=True, force=state == "offline")
            else:
                t = self.next_status
                self.emit(t, self.t_sta, self.status_body(t, "online"), retain=True)
                self.next_status = t + period + self.r.randint(-period // 20, period // 20)

    def advance(self, t1: int) -> None:
        self._status(t1)
        self.process(t1)

    def process(self, t1: int) -> None:
        """Handle observations and own timers before ``t1`` (override)."""
        while self.obs and self.obs[0][0] < t1:
            heapq.heappop(self.obs)

    def drain_until(self, t1: int, sink: list[Msg]) -> None:
        out = self.out
        while out and out[0][0] < t1:
            sink.append(heapq.heappop(out))

    # --- scenario hooks --------------------------------------------------------------------------------------

    def sos(self, t: int, long_press: bool = False) -> None:
        self.push(t, "sos", long_press)


class Pir(DeviceModel):
    """PIR motion: one message per trigger, blind for ``pir_blind_s`` after each, some false triggers."""

    def __init__(self, dev: Device, ctx: SimContext, gidx: int) -> None:
        super().__init__(dev, ctx, gidx)
        self.blind = ctx.opts.pir_blind_s * 1000
        self.blind_until = 0
        rate = ctx.opts.pir_false_per_day
        self.next_false = ctx.start + int(self.r.expovariate(rate) * DAY_MS) if rate > 0 else INF

    def feed(self, seg: Seg) -> None:
        rate = PIR_RATE.get(seg.activity, 0.0)
        r = self.r
        t = seg.start + r.randint(200, 2500)  # entering the room triggers it
        if t < seg.end:
            self.push(t, "m")
        if rate <= 0:
            return
        gap = 60_000.0 / rate
        while True:
            t += int(r.expovariate(1.0) * gap) + 1
            if t >= seg.end:
                return
            self.push(t, "m")

    def process(self, t1: int) -> None:
        obs = self.obs
        while True:
            t_obs = obs[0][0] if obs else INF
            if min(t_obs, self.next_false) >= t1:
                return
            if self.next_false < t_obs:
                t = self.next_false
                self.next_false = t + int(self.r.expovariate(self.ctx.opts.pir_false_per_day) * DAY_MS) + 1
            else:
                t = heapq.heappop(obs)[0]
            if t >= self.blind_until:
                self.blind_until = t + self.blind
                self.emit(t, self.t_tel, '"kind":"motion","motion":true')


class Door(DeviceModel):
    """Door contact: open when someone goes through, closed again a few seconds later."""

    def feed(self, seg: Seg) -> None:
        if seg.activity in ("walk", "visit", "staff"):
            t = seg.start + self.r.randint(500, 5000)
            self.push(t, "o", True)
            self.push(t + self.r.randint(3000, 15000), "o", False)

    def process(self, t1: int) -> None:
        obs = self.obs
        while obs and obs[0][0] < t1:
            t, _o, _n, _c, is_open = heapq.heappop(obs)
            self.emit(t, self.t_tel, '"kind":"door","open":true' if is_open else '"kind":"door","open":false')


class BedSensor(DeviceModel):
    """Bed pad: occupancy, movement, heart and respiration rate with noise and gaps; periodic and on change."""

    def __init__(self, dev: Device, ctx: SimContext, gidx: int) -> None:
        super().__init__(dev, ctx, gidx)
        self.inside: dict[str, str] = {}
        # Stays per occupant: a nap that starts the moment the night ends ("in" of the next segment sorted before
        # "out" of the previous one) must not empty the pad for a person who never got up.
        self.stays: dict[str, int] = {}
        self.next_report = ctx.start + self.r.randint(0, 60_000)
        self.vitals: dict[str, tuple[float, float]] = {}
        self.lat = self.r.randint(2000, 8000)

    def feed(self, seg: Seg) -> None:
        if seg.bed == self.dev.bed and seg.activity in IN_BED:
            self.push(seg.start + self.lat, "in", (seg.occ.id, seg.activity), order=0)
            self.push(seg.end + self.lat, "out", seg.occ.id, order=1)

    def _vitals(self, occ_id: str) -> tuple[float, float]:
        v = self.vitals.get(occ_id)
        if v is None:
            vr = rng(self.ctx.seed, "vitals", occ_id)
            # resting/sleeping heart rate of older adults ~55-75 bpm, respiration ~12-20 /min
            v = (vr.uniform(56, 72), vr.uniform(13, 18))
            self.vitals[occ_id] = v
        return v

    def report(self, t: int) -> None:
        if not self.inside:
            self.emit(t, self.t_tel, '"kind":"bed","occupied":false,"movement":0.0')
            return
        occ = min(self.inside)
        act = self.inside[occ]
        r = self.r
        mu, sd = BED_MOVEMENT.get(act, (15.0, 10.0))
        mv = min(100.0, max(0.0, r.gauss(mu, sd)))
        if r.random() < 0.03:
            mv = r.uniform(50, 95)  # turning over
        hr0, rr0 = self._vitals(occ)
        body = f'"kind":"bed","occupied":true,"movement":{_f1(mv)}'
        if mv < 60 and r.random() > 0.06:  # gaps: poor contact, movement artefacts
            hr = hr0 + (6 if act == "rest_bed" else 0) + r.gauss(0, 2.5)
            body += f',"heart_rate":{_f1(min(140.0, max(35.0, hr)))}'
        if mv < 60 and r.random() > 0.08:
            rr = rr0 + (1.5 if act == "rest_bed" else 0) + r.gauss(0, 1.2)
            body += f',"respiration_rate":{_f1(min(40.0, max(6.0, rr)))}'
        self.emit(t, self.t_tel, body)

    def process(self, t1: int) -> None:
        o = self.ctx.opts
        obs = self.obs
        while True:
            t_obs = obs[0][0] if obs else INF
            if min(t_obs, self.next_report) >= t1:
                return
            if t_obs <= self.next_report:
                t, _o, _n, code, data = heapq.heappop(obs)
                before = bool(self.inside)
                if code == "in":
                    self.inside[data[0]] = data[1]
                    self.stays[data[0]] = self.stays.get(data[0], 0) + 1
                else:
                    left = self.stays.get(data, 0) - 1
                    if left <= 0:
                        self.stays.pop(data, None)
                        self.inside.pop(data, None)
                    else:
                        self.stays[data] = left
                if before != bool(self.inside):
                    self.report(t)
                    self.next_report = t + (o.bed_occupied_s if self.inside else o.bed_empty_s) * 1000
            else:
                t = self.next_report
                self.report(t)
                self.next_report = t + (o.bed_occupied_s if self.inside else o.bed_empty_s) * 1000


class Radar(DeviceModel):
    """mmWave radar: presence, posture, on-floor, target count; its own (imperfect) fall events."""

    def __init__(self, dev: Device, ctx: SimContext, gidx: int) -> None:
        super().__init__(dev, ctx, gidx)
        self.inside: dict[str, str] = {}
        self.last = ""
        self.next_keep = INF
        rate = ctx.opts.radar_false_fall_per_day
        self.next_false = ctx.start + int(self.r.expovariate(rate) * DAY_MS) if rate > 0 else INF

    def feed(self, seg: Seg) -> None:
        if seg.place != self.dev.room:
            return
        lat = self.r.randint(1000, 4000)
        self.push(seg.start + lat, "in", (seg.occ.id, seg.activity), order=0)
        self.push(seg.end + lat, "out", seg.occ.id, order=1)
        if seg.activity == "fall" and self.r.random() < self.ctx.opts.radar_fall_detect_p:
            self.push(seg.start + self.r.randint(5000, 25000), "fall", round(self.r.uniform(0.7, 0.98), 2))

    def body(self) -> str:
        if not self.inside:
            return '"kind":"presence","present":false,"on_floor":false,"targets":0'
        acts = sorted(self.inside.values())
        on_floor = any(a in ON_FLOOR for a in acts)
        posture = "lying" if on_floor else (POSTURE.get(acts[0]) or "unknown")
        if self.r.random() < 0.04:
            posture = "unknown"
        targets = len(acts)
        if targets > 1 and self.r.random() < 0.2:
            targets -= 1  # two people close together look like one
        return (
            f'"kind":"presence","present":true,"posture":"{posture}",'
            f'"on_floor":{"true" if on_floor else "false"},"targets":{targets}'
        )

    def process(self, t1: int) -> None:
        obs = self.obs
        keep = self.ctx.opts.radar_keepalive_s * 1000
        while True:
            t_obs = obs[0][0] if obs else INF
            nxt = min(t_obs, self.next_keep, self.next_false)
            if nxt >= t1:
                return
            if nxt == self.next_false and self.next_false < t_obs:
                t = self.next_false
                self.next_false = t + int(self.r.expovariate(self.ctx.opts.radar_false_fall_per_day) * DAY_MS) + 1
                if self.inside:  # e.g. someone sitting down heavily, a blanket falling off the bed
                    conf = round(self.r.uniform(0.5, 0.75), 2)
                    self.emit(t, self.t_evt, f'"kind":"fall","confidence":{conf},"on_floor":false')
                    self.label(t, "false_fall_event", {"device_kind": "radar", "confidence": conf})
                continue
            if nxt == self.next_keep and self.next_keep < t_obs:
                t = self.next_keep
                self.emit(t, self.t_tel, self.body())
                self.next_keep = t + keep if self.inside else INF
                continue
            t, _o, _n, code, data = heapq.heappop(obs)
            if code == "fall":
                self.emit(t, self.t_evt, f'"kind":"fall","confidence":{data},"on_floor":true')
                continue
            if code == "in":
                self.inside[data[0]] = data[1]
            else:
                self.inside.pop(data, None)
            if obs and obs[0][0] == t:
                continue  # several changes at the same instant: report once
            b = self.body()
            key = b.replace('"posture":"unknown"', "")
            if key != self.last:
                self.last = key
                self.emit(t, self.t_tel, b)
                self.next_keep = t + keep if self.inside else INF


class Wearable(DeviceModel):
    """Waist/wrist wearable: accelerometer batches (1 s each) in active windows, own fall detection, SOS."""

    def __init__(self, dev: Device, ctx: SimContext, gidx: int) -> None:
        super().__init__(dev, ctx, gidx)
        self.g = np_rng(ctx.seed, "accel", dev.id)
        self.rate = ctx.opts.accel_hz
        self.per_batch = max(1, round(self.rate))
        self.prev_posture = "lying"
        self.busy_until = 0
        rate = ctx.opts.wearable_false_fall_per_day
        self.false_rate = rate
        self.next_false = ctx.start + int(self.r.expovariate(rate) * DAY_MS) if rate > 0 else INF

    def feed(self, seg: Seg) -> None:
        posture = POSTURE.get(seg.activity) or "standing"
        if seg.activity == "fall":
            self.push(seg.start - 4000, "fall", seg)
        elif (seg.activity != "floor" and posture != self.prev_posture) or seg.activity in ("walk", "wander", "out"):
            self.push(seg.start, "win", (self.prev_posture, posture))
        self.prev_posture = posture

    def _batches(self, t0: int, samples: Any) -> None:
        k = self.per_batch
        rate_s = _f1(self.rate)
        for i in range(0, len(samples) - k + 1, k):
            chunk = accel.encode_samples(samples[i : i + k])
            t = t0 + int(i * 1000 / self.rate)
            self.emit(t, self.t_tel, f'"kind":"accel","rate_hz":{rate_s},"unit":"g","samples":{chunk}')

    def process(self, t1: int) -> None:
        o = self.ctx.opts
        obs = self.obs
        while True:
            t_obs = obs[0][0] if obs else INF
            if min(t_obs, self.next_false) >= t1:
                return
            if self.next_false < t_obs:
                t = self.next_false
                self.next_false = t + int(self.r.expovariate(self.false_rate) * DAY_MS) + 1
                conf = round(self.r.uniform(0.5, 0.7), 2)
                self.emit(t, self.t_evt, f'"kind":"fall","confidence":{conf}')
                self.label(t, "false_fall_event", {"device_kind": "wearable", "confidence": conf})
                continue
            t, _o, _n, code, data = heapq.heappop(obs)
            if code == "win":
                if t < self.busy_until or o.accel_window_s <= 0:
                    continue
                s = accel.activity_window(self.g, data[0], data[1], o.accel_window_s, self.rate)
                self._batches(t, s)
                self.busy_until = t + o.accel_window_s * 1000
            elif code == "fall":
                seg: Seg = data
                info: dict[str, Any] = dict(seg.fall or {})
                lie_s = float(info.get("lie_s", 60))
                recover = lie_s if info.get("recovered") and lie_s < o.accel_fall_post_s else None
                s, impact = accel.fall(
                    self.g,
                    self.rate,
                    pre_s=4.0,
                    post_s=o.accel_fall_post_s,
                    recover_after_s=recover,
                    peak_g=info.get("peak_g"),
                )
                self._batches(t, s)
                self.busy_until = t + int(len(s) * 1000 / self.rate)
                if self.r.random() < o.wearable_fall_detect_p:
                    ti = t + int(impact * 1000 / self.rate) + self.r.randint(2000, 8000)
                    conf = round(self.r.uniform(0.75, 0.99), 2)
                    self.emit(ti, self.t_evt, f'"kind":"fall","confidence":{conf},"on_floor":true')
            elif code == "sos":
                self.emit(t, self.t_evt, f'"kind":"sos","long_press":{"true" if data else "false"}')


class SosButton(DeviceModel):
    """Wall or pendant SOS button: only ever pressed by a scenario (and reports status)."""

    def process(self, t1: int) -> None:
        obs = self.obs
        while obs and obs[0][0] < t1:
            t, _o, _n, _code, long_press = heapq.heappop(obs)
            self.emit(t, self.t_evt, f'"kind":"sos","long_press":{"true" if long_press else "false"}')


class BleGateway(DeviceModel):
    """BLE zone gateway: sightings of resident tags in its zone, on arrival and every ``ble_interval_s``."""

    def __init__(self, dev: Device, ctx: SimContext, gidx: int, zone_of_room: dict[str, str | None]) -> None:
        super().__init__(dev, ctx, gidx)
        self.zone_of_room = zone_of_room
        self.count: dict[str, int] = {}
        self.timers: list[tuple[int, str, int]] = []
        self.gen: dict[str, int] = {}
        self.zone_label = dev.zone or "zone"
        self.lat = self.r.randint(500, 3000)

    def feed(self, seg: Seg) -> None:
        tag = seg.occ.tag
        if tag and self.zone_of_room.get(seg.place) == self.dev.zone:
            self.push(seg.start + self.lat, "in", tag, order=0)
            self.push(seg.end + self.lat, "out", tag, order=1)

    def sighting(self, t: int, tag: str) -> None:
        rssi = int(max(-100.0, min(-35.0, self.r.gauss(-68, 7))))
        self.emit(t, self.t_tel, f'"kind":"ble","tag":"{tag}","zone":"{self.zone_label}","rssi":{rssi}')

    def process(self, t1: int) -> None:
        obs, timers = self.obs, self.timers
        interval = self.ctx.opts.ble_interval_s * 1000
        while True:
            t_obs = obs[0][0] if obs else INF
            t_tim = timers[0][0] if timers else INF
            if min(t_obs, t_tim) >= t1:
                return
            if t_obs <= t_tim:
                t, _o, _n, code, tag = heapq.heappop(obs)
                c = self.count.get(tag, 0)
                if code == "in":
                    self.count[tag] = c + 1
                    if c == 0:
                        g = self.gen[tag] = self.gen.get(tag, 0) + 1
                        heapq.heappush(timers, (t + self.r.randint(0, 4000), tag, g))
                elif c <= 1:
                    self.count.pop(tag, None)
                else:
                    self.count[tag] = c - 1
            else:
                t, tag, g = heapq.heappop(timers)
                if tag in self.count and self.gen.get(tag) == g:
                    if self.r.random() > 0.04:  # missed advertisement / collision
                        self.sighting(t, tag)
                    heapq.heappush(timers, (t + interval + self.r.randint(-interval // 10, interval // 10), tag, g))


def build_model(dev: Device, ctx: SimContext, gidx: int, zone_of_room: dict[str, str | None]) -> DeviceModel:
    if dev.kind == "pir":
        return Pir(dev, ctx, gidx)
    if dev.kind == "door_contact":
        return Door(dev, ctx, gidx)
    if dev.kind == "bed_sensor":
        return BedSensor(dev, ctx, gidx)
    if dev.kind == "radar":
        return Radar(dev, ctx, gidx)
    if dev.kind == "wearable":
        return Wearable(dev, ctx, gidx)
    if dev.kind == "sos_button":
        return SosButton(dev, ctx, gidx)
    if dev.kind == "ble_gateway":
        return BleGateway(dev, ctx, gidx, zone_of_room)
    raise ValueError(f"unknown device kind {dev.kind!r}")
