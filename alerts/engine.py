"""The detection engine: per-site state fed by decoded messages and a clock, producing alerts (pure, no I/O).

DESIGN.md section 5: detection state is keyed by *site* -- a home's PIR, door, bed, radar and wearable meet in
one :class:`SiteState`, so "motion elsewhere" or "the bed is occupied again" can veto or end what another sensor
started. Two inputs, like every absence-aware detector: :meth:`DetectionEngine.process` for each message and
:meth:`DetectionEngine.tick` for the clock (long-lie stages, inactivity/routine, silent devices). Both return the
:class:`~alerts.alert.Alert` objects established at that moment; :meth:`DetectionEngine.take_resolved` returns
the alerts that ended (device back, person up) so the adapter can close their rows.

Detectors used (written and evaluated elsewhere): :mod:`alerts.falls` (accelerometer), :mod:`alerts.fusion`
(device fall events), :mod:`alerts.inactivity` (routine, inactivity, night bed exit), :mod:`alerts.longlie`.
Alert types raised here: fall, sos, long_lie, zone_exit, night_wandering, device_silent (plus the activity
monitor's inactivity, bathroom_prolonged, no_morning_rise, not_back_in_bed, bed_exit_night).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from alerts import texts
from alerts.activity import ResidentProfile
from alerts.alert import Alert, AlertGate, Severity
from alerts.context import DeviceMeta, Registry, ResidentInfo
from alerts.convert import ActivityConverter, Incoming, accel_arrays, activity_level, local_naive, steady_gravity
from alerts.convert import field as get
from alerts.falls import FallConfig, FallDetection, FallDetector
from alerts.fusion import (
    FallFusionConfig,
    FallFusionDecision,
    HeldFall,
    confirm_held_fall,
    fuse_device_fall,
    weak_only,
)
from alerts.inactivity import HomeActivityMonitor
from alerts.longlie import DEFAULT_STAGES_S, Episode, LongLieTracker, StageDue, stage_severity
from alerts.records import Resolution, StoredAlert, episode_from_row
from alerts.wandering import WanderingWatch, ZoneFinding

BED_ONLY_TYPES = frozenset({"bed_exit_night"})  # what a facility bed's monitor may raise (it sees no PIRs)


@dataclass(frozen=True)
class EngineConfig:
    long_lie_stages_s: tuple[float, ...] = DEFAULT_STAGES_S
    fusion: FallFusionConfig = field(default_factory=FallFusionConfig)
    fall: FallConfig | None = None
    fusion_window: timedelta = timedelta(seconds=60)
    """Corroboration window of a device fall event: radar on floor, our accel detection, motion elsewhere."""
    accel_stream_end: timedelta = timedelta(seconds=6)
    """A wearable that sent no accelerometer batch for this long has ended its stream: pending impacts are decided
    with the post-impact data there is (``FallDetector.flush``) instead of waiting for its next batch."""
    fusion_hold: timedelta = timedelta(seconds=45)
    """A device fall accepted only because nobody moves elsewhere waits this long for what follows (motion in
    another room, the wearable walking or upright, the bed pad occupied all along reject it); 0 decides at once."""
    bed_exit_minutes: float = 20.0
    """Night bed exit of a fall-risk resident: not back within this many minutes raises ``bed_exit_night``
    (a resident's own ``bed_exit_minutes`` in the registry overrides it)."""
    recovery_grace: timedelta = timedelta(seconds=5)
    """Evidence within this time of the fall belongs to the fall itself (a radar still saying 'standing')."""
    walking_std_g: float = 0.15
    upright_max_deg: float = 40.0
    """A wearable batch whose gravity direction is within this angle of the wearer's walking orientation means the
    trunk is upright again (standing or sitting): sitting tilts the trunk by ~10-30 deg, lying by >= 50 deg
    (``FallConfig.orientation_min_deg``)."""
    steady_max_deg: float = 30.0
    """A batch is one posture when the gravity directions of its two halves differ by at most this angle (a batch
    holding a fall or a getting-up transition is neither a reference nor recovery evidence)."""
    activity_tick: timedelta = timedelta(seconds=60)
    night_hours: tuple[int, int] = (22, 6)
    wandering_moves: int = 3
    wandering_window: timedelta = timedelta(minutes=30)
    cooldowns: Mapping[str, timedelta] = field(
        default_factory=lambda: {
            "fall": timedelta(minutes=2),  # one fall seen by radar and wearable is one alert
            "sos": timedelta(minutes=1),
            "zone_exit": timedelta(minutes=10),
            "night_wandering": timedelta(hours=1),
        }
    )


@dataclass
class DeviceHealth:
    last_seen: datetime
    online: bool = True
    silent_alerted: bool = False


@dataclass
class SiteState:
    site_id: str
    gate: AlertGate
    long_lie: LongLieTracker
    converter: ActivityConverter = field(default_factory=ActivityConverter)
    monitors: dict[str, HomeActivityMonitor] = field(default_factory=dict)
    last_motion: dict[str, datetime] = field(default_factory=dict)  # room -> last PIR motion
    radar_floor: dict[str, datetime] = field(default_factory=dict)  # room -> radar sees someone on the floor since
    accel_falls: dict[str, datetime] = field(default_factory=dict)  # resident/device -> our last accel detection
    wearable_up: dict[str, datetime] = field(default_factory=dict)  # resident/device -> wearable walking/upright
    held_falls: list[HeldFall] = field(default_factory=list)  # weakly supported device falls awaiting confirmation
    wandering: WanderingWatch = field(default_factory=WanderingWatch)


class DetectionEngine:
    """All detection state of the sites this worker owns. Not thread-safe: one detection thread drives it."""

    def __init__(self, registry: Registry, config: EngineConfig | None = None, now: datetime | None = None) -> None:
        self.registry = registry
        self.config = config or EngineConfig()
        self.sites: dict[str, SiteState] = {}
        self.fall_detectors: dict[str, FallDetector] = {}
        self.upright: dict[str, np.ndarray] = {}  # wearable -> unit gravity vector while its wearer walked
        self.accel_rx: dict[str, datetime] = {}  # wearable -> receive time of its latest accelerometer batch
        self.health: dict[str, DeviceHealth] = {}
        self._resolved: list[Resolution] = []
        self._last_activity_tick: datetime | None = None
        start = now or datetime.now(UTC)
        for d in registry.devices.values():
            if d.safety_critical:
                # Never heard of: the silence clock starts at registration (persistent), else at start-up.
                self.health[d.id] = DeviceHealth(last_seen=d.created_at or start)

    # --- state ------------------------------------------------------------------------------------------------

    def site(self, site_id: str) -> SiteState:
        st = self.sites.get(site_id)
        if st is None:
            st = SiteState(
                site_id,
                AlertGate(cooldowns=dict(self.config.cooldowns), default_cooldown=timedelta(minutes=10)),
                LongLieTracker(self.config.long_lie_stages_s),
            )
            self.sites[site_id] = st
        return st

    def take_resolved(self) -> list[Resolution]:
        out, self._resolved = self._resolved, []
        return out

    # --- inputs -----------------------------------------------------------------------------------------------

    def process(self, item: Incoming) -> list[Alert]:
        """One decoded message; returns the alerts it establishes (never raises on odd content)."""
        dev = self.registry.devices.get(item.device_id)
        if dev is None:
            return []
        alerts = self._health_on_message(dev, item)
        handler = _HANDLERS.get(item.kind)
        if handler is not None:
            alerts += handler(self, dev, item)
        return alerts

    def tick(self, now: datetime) -> list[Alert]:
        """Advance the clock: long-lie stages, silent devices, and (every ``activity_tick``) the routine monitors."""
        alerts: list[Alert] = []
        alerts += self._expire_accel_streams(now)
        for st in self.sites.values():
            alerts += self._confirm_held_falls(st, now)
            for due in st.long_lie.due(now):
                alerts.append(self._long_lie_alert(due))
        alerts += self._check_silence(now)
        if self._last_activity_tick is None or now - self._last_activity_tick >= self.config.activity_tick:
            self._last_activity_tick = now
            for st in self.sites.values():
                tz = self.registry.tz(st.site_id)
                local = local_naive(now, tz)
                for key, mon in st.monitors.items():
                    alerts += self._from_monitor(st.site_id, key, mon.tick(local))
        return alerts

    # --- restart ----------------------------------------------------------------------------------------------

    def update_registry(self, registry: Registry, now: datetime) -> None:
        """Apply a reloaded registry: new safety-critical devices start their silence clock now."""
        self.registry = registry
        for d in registry.devices.values():
            if d.safety_critical and d.id not in self.health:
                self.health[d.id] = DeviceHealth(last_seen=now)
        for dev_id in list(self.health):
            dev = registry.devices.get(dev_id)
            if dev is None or not dev.safety_critical:
                del self.health[dev_id]
        # Routine monitors keep what they learned; who lives there and their settings (alone, fall risk, bed-exit
        # delay) come from the registry as it is now.
        for st in self.sites.values():
            for key, mon in st.monitors.items():
                if key == "home" or key in registry.residents:
                    mon.profile = self.profile(st.site_id, key)

    def restore_devices(self, last_seen: Mapping[str, datetime], offline: Iterable[str] = ()) -> None:
        """Device liveness from the database (device_state, recent raw rows) so a silence keeps its clock."""
        for dev_id, seen in last_seen.items():
            h = self.health.get(dev_id)
            if h is not None and seen > h.last_seen:
                h.last_seen = seen
        for dev_id in offline:
            if dev_id in self.health:
                self.health[dev_id].online = False

    def restore_alerts(self, rows: Iterable[StoredAlert], now: datetime) -> None:
        """Recent alert rows: cooldown gates, devices already reported silent, long lies still in progress."""
        for row in sorted(rows, key=lambda r: r.ts):
            st = self.site(row.site_id)
            prev = st.gate.last.get(f"{row.resident_id or ''}|{row.type}")
            if prev is None or row.ts > prev:
                st.gate.last[f"{row.resident_id or ''}|{row.type}"] = row.ts
            if row.status != "open":
                continue
            if row.type == "device_silent" and row.device_id in self.health:
                self.health[row.device_id].silent_alerted = True
            elif row.type in ("long_lie", "fall") and not row.condition_ended:
                ep = episode_from_row(row)
                horizon = timedelta(seconds=self.config.long_lie_stages_s[-1] * 2)
                if ep is not None and now - ep.start < horizon and not st.long_lie.start(ep):
                    cur = st.long_lie.episodes[ep.subject]
                    cur.stage = max(cur.stage, ep.stage)

    def rebuild_activity(self, site_id: str, readings: Iterable[Incoming], now: datetime) -> list[Alert]:
        """Replay stored sensor history of one site through the routine monitors up to ``now`` (start-up).

        Returns the alerts the replay derived (with their original event times); the caller emits those that are
        not stored yet (they became due while no worker was running). Long-lie episodes restored before this
        call see the replayed recovery evidence, so a person who got up while we were away is not escalated.
        """
        derived: list[Alert] = []
        st = self.site(site_id)
        for item in readings:
            dev = self.registry.devices.get(item.device_id)
            if dev is None:
                continue
            handler = _HANDLERS.get(item.kind)
            if handler is not None and item.kind in ("motion", "door", "bed", "presence"):
                derived += [a for a in handler(self, dev, item, replay=True) if a.type not in {"fall", "long_lie"}]
        local = local_naive(now, self.registry.tz(site_id))
        for key, mon in st.monitors.items():
            derived += self._from_monitor(site_id, key, mon.replay([], until=local))
        return derived

    # --- device health ----------------------------------------------------------------------------------------

    def _health_on_message(self, dev: DeviceMeta, item: Incoming) -> list[Alert]:
        h = self.health.get(dev.id)
        if h is None:
            return []
        seen = item.received_at
        h.last_seen = max(h.last_seen, seen)
        if item.kind == "status" and get(item.message, "state") == "offline":
            h.online = False
            if not h.silent_alerted:
                h.silent_alerted = True
                return [self._silent_alert(dev, item.received_at, h, offline=True)]
            return []
        h.online = True
        if h.silent_alerted:
            h.silent_alerted = False
            res = self.registry.resident_of(dev)
            self._resolved.append(
                Resolution(dev.site_id, "device_silent", seen, "device_back", res.id if res else None, dev.id)
            )
        return []

    def _check_silence(self, now: datetime) -> list[Alert]:
        alerts = []
        for dev_id, h in self.health.items():
            if h.silent_alerted:
                continue
            dev = self.registry.devices[dev_id]
            due = h.last_seen + timedelta(seconds=dev.heartbeat_s)
            if not h.online or now >= due:
                h.silent_alerted = True
                alerts.append(self._silent_alert(dev, due if h.online else now, h, offline=not h.online))
        return alerts

    def _silent_alert(self, dev: DeviceMeta, ts: datetime, h: DeviceHealth, *, offline: bool) -> Alert:
        res = self.registry.resident_of(dev)
        zh, en = texts.device_silent(dev, h.last_seen, ts, offline)
        evidence = {
            "device_id": dev.id,
            "device_kind": dev.kind,
            "room_id": self.registry.room_of(dev),
            "last_seen": h.last_seen.isoformat(),
            "heartbeat_s": dev.heartbeat_s,
            "silent_s": round((ts - h.last_seen).total_seconds(), 1),
            "offline": offline,
        }
        return self._alert(
            "device_silent", Severity.WARNING, ts, site_id=dev.site_id, res=res, zh=zh, en=en, evidence=evidence
        )

    # --- per-kind handlers ------------------------------------------------------------------------------------

    def _on_activity(self, dev: DeviceMeta, item: Incoming, *, replay: bool = False) -> list[Alert]:
        st = self.site(dev.site_id)
        msg = item.message
        room = self.registry.room_of(dev)
        alerts: list[Alert] = []
        self._recovery_evidence(st, dev, item, room)
        if item.kind == "motion" and get(msg, "motion") and room:
            st.last_motion[room] = item.ts
        if item.kind == "presence" and room:
            if get(msg, "on_floor", False):
                st.radar_floor.setdefault(room, item.ts)
                if not replay:
                    res = self.registry.resident_of(dev)
                    st.long_lie.start(self._episode(dev, res, item.ts, "on_floor", room))
            else:
                st.radar_floor.pop(room, None)
        alerts += self._activity_event(st, dev, item, room, replay)
        return alerts

    def _recovery_evidence(self, st: SiteState, dev: DeviceMeta, item: Incoming, room: str | None) -> None:
        if not st.long_lie.episodes:
            return
        msg, grace, ts = item.message, self.config.recovery_grace, item.ts
        res = self.registry.resident_of(dev)
        rid = res.id if res and (dev.resident_id or dev.bed_id) else None
        ended: list[Episode] = []
        reason = ""
        if (
            item.kind == "presence"
            and not get(msg, "on_floor", False)
            and get(msg, "posture") in ("standing", "sitting")
        ):
            ended, reason = st.long_lie.recover(ts, grace=grace, room_id=room), f"radar sees {get(msg, 'posture')}"
        elif item.kind == "motion" and get(msg, "motion") and room and self._sole_occupant(dev.site_id):
            # Motion in another room is the fallen person only if nobody else lives there: in a shared home or a
            # facility it is someone else walking about while the resident may still be on the floor.
            ended, reason = st.long_lie.recover(ts, grace=grace, room_id=room, other_room=True), "motion elsewhere"
        elif item.kind == "bed" and get(msg, "occupied"):
            ended, reason = st.long_lie.recover(ts, grace=grace, resident_id=rid), "back in bed"
        for ep in ended:
            self._resolved.append(Resolution(ep.site_id, "long_lie", ts, reason, ep.resident_id, ep.device_id))

    def _activity_event(
        self, st: SiteState, dev: DeviceMeta, item: Incoming, room: str | None, replay: bool
    ) -> list[Alert]:
        site = self.registry.site(dev.site_id)
        tz = self.registry.tz(dev.site_id)
        if site.kind == "home":
            key = "home"
        elif item.kind == "bed":
            res = self.registry.resident_of(dev)
            # Fall risk: night bed-exit alerts; dementia: the night bed exit is the start of a night wandering.
            if res is None or not (res.at_fall_risk or res.dementia):
                return []
            key = res.id
        else:
            return []
        ev = st.converter.event(
            dev.id, item.kind, item.message, local_ts=local_naive(item.ts, tz), room_kind=self.registry.room_kind(room)
        )
        if ev is None:
            return []
        mon = st.monitors.get(key)
        if mon is None:
            mon = st.monitors[key] = HomeActivityMonitor(self.profile(dev.site_id, key))
        # Replay ticks on the 1-minute grid between events, exactly like HomeActivityMonitor.from_history.
        return self._from_monitor(dev.site_id, key, mon.replay([ev]) if replay else mon.on_event(ev))

    def profile(self, site_id: str, key: str) -> ResidentProfile:
        """The monitor profile of a home (key "home") or of a facility resident (key = resident id)."""
        if key == "home":
            people = self.registry.residents_by_site.get(site_id, [])
            res = people[0] if len(people) == 1 else None
            alone = res.lives_alone if res else False
            return ResidentProfile(
                resident_id=res.id if res else None, site_id=site_id, lives_alone=alone,
                empty_nest=res.empty_nest if res else False, fall_risk=bool(res and res.at_fall_risk),
                bed_exit_minutes=self._bed_exit_minutes(res),
            )  # fmt: skip
        res = self.registry.residents[key]
        return ResidentProfile(
            res.id, site_id, res.lives_alone, res.empty_nest, res.at_fall_risk, self._bed_exit_minutes(res)
        )

    def _bed_exit_minutes(self, res: ResidentInfo | None) -> float:
        own = res.bed_exit_minutes if res else None
        return float(own) if own else self.config.bed_exit_minutes

    def _from_monitor(self, site_id: str, key: str, found: list[Alert]) -> list[Alert]:
        tz = self.registry.tz(site_id)
        out = []
        for a in found:
            if key != "home" and a.type not in BED_ONLY_TYPES:
                continue
            ts = a.ts.replace(tzinfo=tz).astimezone(UTC) if a.ts.tzinfo is None else a.ts
            out.append(Alert(ts, a.type, a.severity, a.explanation_zh, a.explanation_en, a.evidence,
                             a.resident_id, a.site_id or site_id))  # fmt: skip
        return out

    def _on_accel(self, dev: DeviceMeta, item: Incoming, replay: bool = False) -> list[Alert]:
        t, acc = accel_arrays(item.message, item.ts)
        det = self.fall_detectors.get(dev.id)
        if det is None:
            det = self.fall_detectors[dev.id] = FallDetector(self.config.fall)
        st = self.site(dev.site_id)
        res = self.registry.resident_of(dev)
        alerts = self._accel_falls(dev, det.feed(t, acc))
        self.accel_rx[dev.id] = item.received_at
        if not t.size:
            return alerts
        walking = activity_level(acc) >= self.config.walking_std_g
        gravity = steady_gravity(acc, self.config.steady_max_deg)
        ref = self.upright.get(dev.id)
        reason = ""
        if walking:
            reason = "wearable walking"
        elif gravity is not None and ref is not None and _angle_deg(gravity, ref) <= self.config.upright_max_deg:
            # Back in the orientation the device had while its wearer walked: trunk upright, i.e. standing or
            # sitting, no longer lying on the floor. Someone who got up and sat down moves too little for the
            # walking test, and a recovered fall would otherwise escalate to the critical long-lie stages.
            reason = "wearable upright"
        if reason:
            st.wearable_up[res.id if res else dev.id] = datetime.fromtimestamp(float(t[-1]), UTC)
        if st.long_lie.episodes and reason:
            start = datetime.fromtimestamp(float(t[0]), UTC)
            for ep in st.long_lie.recover(start, grace=self.config.recovery_grace, resident_id=res.id if res else None):
                self._resolved.append(Resolution(ep.site_id, "long_lie", start, reason, ep.resident_id))
        if walking and gravity is not None:
            self.upright[dev.id] = gravity  # a walking person is upright: the reference posture of this wearable
        return alerts

    def _accel_falls(self, dev: DeviceMeta, found: list[FallDetection]) -> list[Alert]:
        """Alerts (and long-lie episodes) for falls our accelerometer detector decided on a wearable's stream."""
        st = self.site(dev.site_id)
        res = self.registry.resident_of(dev)
        alerts: list[Alert] = []
        for d in found:
            impact = datetime.fromtimestamp(d.t_impact, UTC)
            st.accel_falls[res.id if res else dev.id] = impact
            st.long_lie.start(self._episode(dev, res, impact, "fall", None))
            zh, en = texts.accel_fall(d)
            evidence = {
                "source": "accelerometer", "device_id": dev.id, "t_impact": impact.isoformat(),
                "decided_at": datetime.fromtimestamp(d.t_detect, UTC).isoformat(), "peak_g": round(d.peak_g, 2),
                "orientation_change_deg": round(d.orientation_change_deg, 1), "stillness_g": round(d.stillness, 3),
                "freefall_min_g": round(d.freefall_min_g, 2), "score": round(d.score, 3),
                "truncated": bool(d.explanation.get("truncated")),
            }  # fmt: skip
            alerts += self._gated(
                st,
                self._alert(
                    "fall", Severity.URGENT, impact, site_id=dev.site_id, res=res, zh=zh, en=en, evidence=evidence
                ),
            )
        return alerts

    def _expire_accel_streams(self, now: datetime) -> list[Alert]:
        """Decide impacts left pending by wearables that stopped streaming (windowed devices send a few seconds
        after an event and then go quiet): a fall must not wait for the device's next batch. Judged on receive
        times, not on the device's own clock, which may be skewed."""
        alerts: list[Alert] = []
        idle = [d for d, rx in self.accel_rx.items() if now - rx > self.config.accel_stream_end]
        for dev_id in idle:
            del self.accel_rx[dev_id]
            det, dev = self.fall_detectors.get(dev_id), self.registry.devices.get(dev_id)
            if det is not None and dev is not None:
                alerts += self._accel_falls(dev, det.flush())
        return alerts

    def _on_fall_event(self, dev: DeviceMeta, item: Incoming, replay: bool = False) -> list[Alert]:
        st = self.site(dev.site_id)
        res = self.registry.resident_of(dev)
        room = self.registry.room_of(dev)
        ts, win = item.ts, self.config.fusion_window
        conf = float(get(item.message, "confidence", 0.0))
        radar_floor: bool | None = None
        if room and any(d.kind == "radar" and self.registry.room_of(d) == room
                        for d in self.registry.devices_by_site.get(dev.site_id, [])):  # fmt: skip
            # The radar sees someone on the floor now (however long ago that began) or said so in its own event.
            radar_floor = bool(get(item.message, "on_floor")) or room in st.radar_floor
        accel = st.accel_falls.get(res.id) if res else None
        wearable = accel is not None and abs(ts - accel) <= win
        pir_rooms = {self.registry.room_of(d) for d in self.registry.devices_by_site.get(dev.site_id, [])
                     if d.kind == "pir"} - {room, None}  # fmt: skip
        elsewhere: bool | None = None
        # "No motion elsewhere" is about the one person who lives here: in a facility or a shared home the others
        # being still (asleep) or moving says nothing about whether this resident fell, so it is unknown (None).
        if pir_rooms and self._sole_occupant(dev.site_id):
            elsewhere = any(r in pir_rooms and abs(ts - t) <= win for r, t in st.last_motion.items())
        decision = fuse_device_fall(
            conf, radar_on_floor=radar_floor, wearable_fall_detected=wearable, motion_elsewhere=elsewhere,
            config=self.config.fusion,
        )  # fmt: skip
        if not decision.accept:
            return []
        if weak_only(decision) and self.config.fusion_hold > timedelta(0):
            seen = room or max(st.last_motion, key=lambda r: st.last_motion[r], default=None)
            held = HeldFall(dev.id, dev.site_id, res.id if res else None, room, ts, ts + self.config.fusion_hold,
                            item.received_at, decision, seen_room=seen)  # fmt: skip
            st.held_falls.append(held)
            return []
        return self._accept_device_fall(
            st, dev, res, room=room, ts=ts, conf=conf, decision=decision, received_at=item.received_at
        )

    def _accept_device_fall(
        self, st: SiteState, dev: DeviceMeta, res: ResidentInfo | None, *, room: str | None, ts: datetime,
        conf: float, decision: FallFusionDecision, received_at: datetime,
    ) -> list[Alert]:  # fmt: skip
        st.long_lie.start(self._episode(dev, res, ts, "fall", room))
        zh, en = texts.device_fall(dev, self.registry.room_kind(room), conf, decision.reason)
        evidence = {"source": dev.kind, "device_id": dev.id, "room_id": room, "reason": decision.reason,
                    "received_at": received_at.isoformat(), **decision.explanation}  # fmt: skip
        return self._gated(
            st, self._alert("fall", Severity.URGENT, ts, site_id=dev.site_id, res=res, zh=zh, en=en, evidence=evidence)
        )

    def _confirm_held_falls(self, st: SiteState, now: datetime) -> list[Alert]:
        """Decide the held device falls whose hold ended, from what the home's sensors said meanwhile."""
        due = [h for h in st.held_falls if h.until <= now]
        if not due:
            return []
        st.held_falls = [h for h in st.held_falls if h.until > now]
        alerts: list[Alert] = []
        grace = self.config.recovery_grace
        for h in due:
            dev = self.registry.devices.get(h.device_id)
            if dev is None:
                continue
            res = self.registry.residents.get(h.resident_id) if h.resident_id else None
            subject = h.resident_id or h.device_id
            accel = st.accel_falls.get(subject)
            up = st.wearable_up.get(subject)
            mon = st.monitors.get("home")
            bed_since = mon.in_bed_since() if mon else None
            decision = confirm_held_fall(
                h,
                motion_elsewhere_after=any(r != h.seen_room and t > h.ts + grace for r, t in st.last_motion.items()),
                wearable_up_after=up is not None and up > h.ts + grace,
                in_bed_throughout=bed_since is not None and bed_since <= local_naive(h.ts, self.registry.tz(h.site_id)),
                radar_on_floor=h.room_id is not None and h.room_id in st.radar_floor,
                wearable_fall_detected=accel is not None and abs(accel - h.ts) <= self.config.fusion_window,
            )  # fmt: skip
            if decision.accept:
                conf = float(decision.explanation.get("confidence", 0.0))
                alerts += self._accept_device_fall(
                    st, dev, res, room=h.room_id, ts=h.ts, conf=conf, decision=decision, received_at=h.received_at
                )
        return alerts

    def _on_sos(self, dev: DeviceMeta, item: Incoming, replay: bool = False) -> list[Alert]:
        st = self.site(dev.site_id)
        res = self.registry.resident_of(dev)
        long_press = bool(get(item.message, "long_press", False))
        zh, en = texts.sos(dev, long_press)
        evidence = {"device_id": dev.id, "long_press": long_press, "room_id": self.registry.room_of(dev),
                    "received_at": item.received_at.isoformat()}  # fmt: skip
        return self._gated(
            st,
            self._alert(
                "sos", Severity.CRITICAL, item.ts, site_id=dev.site_id, res=res, zh=zh, en=en, evidence=evidence
            ),
        )

    def _on_ble(self, dev: DeviceMeta, item: Incoming, replay: bool = False) -> list[Alert]:
        res = self.registry.residents_by_tag.get(str(get(item.message, "tag")))
        zone = self.registry.zones.get(dev.zone_id or str(get(item.message, "zone")))
        if res is None or not res.dementia or zone is None:
            return []
        st = self.site(res.site_id)
        local = local_naive(item.ts, self.registry.tz(res.site_id))
        hour = local.hour
        alerts: list[Alert] = []
        findings = st.wandering.sighting(res.id, zone, item.ts, hour)
        up = self._up_at_night(st, res, local)
        if up is not None and not any(f.type == "night_wandering" for f in findings):
            last = st.wandering.last_zone.get(res.id)
            findings.append(ZoneFinding("night_wandering", zone, last[0] if last else None))
        for f in findings:
            ev = {"tag": res.ble_tag, "zone_id": zone.id, "from_zone": f.previous.id if f.previous else None,
                  "is_exit": zone.is_exit, "left_secure": f.left_secure, "gateway": dev.id,
                  "rssi": get(item.message, "rssi"), "local_hour": hour}  # fmt: skip
            if f.type == "zone_exit":
                zh, en = texts.zone_exit(zone, f.previous)
                base = Severity.URGENT
            elif f.moves:
                minutes = int(st.wandering.window.total_seconds() // 60)
                zh, en = texts.night_wandering(f.moves, minutes, zone)
                ev |= {"zone_changes": f.moves, "window_min": minutes}
                base = Severity.WARNING
            else:
                assert up is not None
                out_min = int((local - up).total_seconds() // 60)
                zh = f"夜间 {up:%H:%M} 离床，{out_min} 分钟未回床，仍在 {zone.id} 区域活动（认知症长者）。"
                en = (
                    f"Out of bed since {up:%H:%M} at night ({out_min} min) and still up and about, tag seen in "
                    f"zone {zone.id} (resident with dementia)."
                )
                ev |= {"bed_exit": up.isoformat(), "out_of_bed_min": out_min}
                base = Severity.WARNING
            alerts += self._gated(
                st, self._alert(f.type, base, item.ts, site_id=res.site_id, res=res, zh=zh, en=en, evidence=ev)
            )
        return alerts

    def _up_at_night(self, st: SiteState, res: ResidentInfo, local: datetime) -> datetime | None:
        """Local time of this resident's night bed exit if they have been up longer than their bed-exit limit.

        Zone gateways cover a whole floor (the resident's room and the corridor are one zone), so a resident
        walking the corridor at night changes no zone; the bed pad tells that they are up. The exit must lie
        inside their learned sleep period (the monitor's night-exit test: not the morning rise, not a nap) and
        last longer than a night toilet visit (``bed_exit_minutes``); the tag being seen says they are up and
        about on the floor, not lying unseen somewhere.
        """
        mon = st.monitors.get(res.id)
        if mon is None or mon.bed_exit is None:
            return None
        if local - mon.bed_exit < timedelta(minutes=mon.profile.bed_exit_minutes):
            return None
        return mon.bed_exit

    def _sole_occupant(self, site_id: str) -> bool:
        """A home with exactly one registered resident: all human activity there is that person's."""
        return self.registry.site(site_id).kind == "home" and len(self.registry.residents_by_site.get(site_id, [])) == 1

    # --- alert construction -----------------------------------------------------------------------------------

    def _episode(
        self, dev: DeviceMeta, res: ResidentInfo | None, ts: datetime, cause: str, room: str | None
    ) -> Episode:
        subject = res.id if res else (f"room:{room}" if room else f"site:{dev.site_id}")
        return Episode(subject, dev.site_id, ts, cause, res.id if res else None, room, dev.id)

    def _long_lie_alert(self, due: StageDue) -> Alert:
        ep: Episode = due.episode
        res = self.registry.residents.get(ep.resident_id) if ep.resident_id else None
        zh, en = texts.long_lie(due.stage, due.threshold_s, ep.cause, len(self.config.long_lie_stages_s))
        evidence = {**ep.to_dict(), "stage": due.stage, "threshold_s": due.threshold_s,
                    "skipped_stages": list(due.skipped), "device_id": ep.device_id}  # fmt: skip
        sev = stage_severity(due.stage, len(self.config.long_lie_stages_s))
        return self._alert("long_lie", sev, due.ts, site_id=ep.site_id, res=res, zh=zh, en=en, evidence=evidence)

    def _alert(
        self, type_: str, base: Severity, ts: datetime, *, site_id: str, res: ResidentInfo | None, zh: str, en: str,
        evidence: dict[str, Any],
    ) -> Alert:  # fmt: skip
        bump = res.priority_bump if res else 0
        evidence = {**evidence, "base_severity": base.value, "priority_bump": bump}
        return Alert(ts, type_, base.bump(bump), zh, en, evidence, res.id if res else None, site_id)

    def _gated(self, st: SiteState, alert: Alert) -> list[Alert]:
        return [alert] if st.gate.allow(alert.type, alert.ts, alert.resident_id) else []


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two unit vectors, degrees."""
    return float(np.degrees(np.arccos(np.clip(float(np.dot(a, b)), -1.0, 1.0))))


_HANDLERS: dict[str, Any] = {
    "motion": DetectionEngine._on_activity,
    "door": DetectionEngine._on_activity,
    "bed": DetectionEngine._on_activity,
    "presence": DetectionEngine._on_activity,
    "accel": DetectionEngine._on_accel,
    "fall": DetectionEngine._on_fall_event,
    "sos": DetectionEngine._on_sos,
    "ble": DetectionEngine._on_ble,
}
