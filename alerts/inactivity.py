"""Inactivity and routine detectors of one home, driven by events *and* by a clock (pure, no I/O).

Absence is an event: a silence is only noticed if something looks at the clock, so the monitor has two inputs,
:meth:`HomeActivityMonitor.on_event` (each sensor event) and :meth:`HomeActivityMonitor.tick` (a real or virtual
clock, e.g. every minute). Both return the alerts established at that moment.

Detectors (all against the home's own learned routine, see :mod:`alerts.baseline`):

* ``inactivity``: the current silence is improbable for this person at this time of day and place:
  ``S = exp(-Λ) < alpha`` with ``Λ`` the integrated bout hazard of the context the silence started in, and the
  silence at least ``min_silence`` long. Suppressed while the person is out (front door, then nothing inside).
* ``bathroom_prolonged``: the same test for a silence that started in the bathroom (with a 30 min floor), and
  a *stay* there (events in the bathroom only, still moving) far longer than this person's usual visits.
* ``no_morning_rise``: still in bed since the night (or, the pad empty, not yet seen outside the bedroom) an hour
  after the hour in which this person is (almost) never in bed any more.
* ``not_back_in_bed``: got up during the usual sleep hours and not back in bed long after the usual night visits.
* ``bed_exit_night``: fall-risk residents only: a night bed exit not back within ``bed_exit_minutes``.

A restart must not reset a silence clock: :meth:`snapshot`/:meth:`restore` carry the whole state as a JSON-able
dict, and :meth:`from_history` rebuilds the same state by replaying stored events (the live path's start-up).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerts import routine_texts as texts
from alerts.activity import REST_KINDS, HomeEvent, ResidentProfile
from alerts.alert import Alert, AlertGate, Severity
from alerts.baseline import Routine
from alerts.tails import TailModel, day_band, log_normal_prior

_EPOCH = datetime(2000, 1, 1)
_PASSAGE = timedelta(minutes=2)  # door events this close together are one passage through the front door

BASE_SEVERITY = {
    "inactivity": Severity.WARNING,
    "no_morning_rise": Severity.WARNING,
    "not_back_in_bed": Severity.WARNING,
    # Bathrooms are where older adults fall most often; a fall-risk resident out of bed at night is the classic
    # pre-fall situation in nursing protocols, hence one step higher.
    "bathroom_prolonged": Severity.URGENT,
    "bed_exit_night": Severity.URGENT,
}


@dataclass(frozen=True)
class DetectorConfig:
    """Detector knobs, chosen from first principles (see docs/detection-activity.md), not fitted to a home.

    ``false_alert_budget``: expected false alerts per 30 days under the model. Each activity bout is followed by
    a silence, and under a calibrated model the survival ``S`` of a silence is uniform, so each silence crosses
    ``S < alpha`` with probability ``alpha``; with ``B`` bouts per 30 days the expected number of false alerts is
    ``alpha * B``. Hence ``alpha = budget / B`` (B learned per home), clamped to ``alpha_range``. The budget is
    0.2, not the acceptance limit of 1: false alerts are a Poisson count, and over a 2-4 week record a *single*
    one already exceeds "1 per 30 days", so the budget is set for P(no false alert in 30 days) ~ 0.8.
    ``morning_budget`` is the same idea for the once-a-morning rise test (one opportunity per day).
    ``refractory``: activity comes in bursts; the hazard is that of a *new* bout once the home has been silent
    this long. ``min_silence``: never alert on a shorter silence, however active the hour.

    ``learning_*``: for the first days the home's own routine (its level, and above all how long its quiet
    spells can be) is still unknown, so a silence must also last ``learning_min_silence`` before it alerts, as
    the fixed timers of conventional telecare do; after that the learned model alone decides.

    ``tail_*``: the survival is corrected for how heavy-tailed this home's silences are (:mod:`alerts.tails`):
    a Gamma frailty whose shape ``k`` is learned from the home's own closed silences, with a log-normal prior
    around ``tail_prior_k`` (width ``tail_prior_width`` in ln k: a new home assumes near-Poisson silences and
    must *show* long quiet spells before it is trusted with them); ``tail_group_weight`` is the share of the
    other rooms' evidence a room borrows, ``tail_band_weight`` the share of the other parts of the day's (the
    tail is learned per part of the day: evening TV vs morning chores).
    """

    false_alert_budget: float = 0.2
    morning_budget: float = 0.5
    alpha_range: tuple[float, float] = (1e-4, 1e-2)
    refractory: timedelta = timedelta(minutes=5)
    min_silence: timedelta = timedelta(minutes=20)
    bathroom_min_silence: timedelta = timedelta(minutes=30)
    bathroom_stay_floor: timedelta = timedelta(minutes=45)
    bathroom_stay_factor: float = 1.5
    bathroom_presence_gap: timedelta = timedelta(minutes=10)
    morning_hours: tuple[int, int] = (4, 15)
    night_in_bed_min: timedelta = timedelta(hours=3)
    night_p_in_bed: float = 0.7
    deep_night_p_in_bed: float = 0.8
    not_back_floor: timedelta = timedelta(minutes=60)
    not_back_factor: float = 1.5
    learning_period: timedelta = timedelta(days=2)
    learning_min_silence: timedelta = timedelta(hours=4)
    tail_calibration: bool = True
    tail_group_weight: float = 1.0
    tail_band_weight: float = 0.0
    tail_prior_k: float = 50.0
    tail_prior_width: float = 1.0
    cooldowns: dict[str, timedelta] = field(
        default_factory=lambda: {
            "inactivity": timedelta(hours=3),
            "bathroom_prolonged": timedelta(hours=3),
            "no_morning_rise": timedelta(hours=12),
            "not_back_in_bed": timedelta(hours=6),
            "bed_exit_night": timedelta(minutes=30),
        }
    )


class HomeActivityMonitor:
    """Routine and inactivity detectors of one home; feed it events and clock ticks (see module docstring)."""

    def __init__(
        self,
        profile: ResidentProfile | None = None,
        config: DetectorConfig | None = None,
        routine: Routine | None = None,
    ) -> None:
        self.profile = profile or ResidentProfile()
        self.config = config or DetectorConfig()
        self.routine = routine or Routine()
        self.gate = AlertGate(cooldowns=dict(self.config.cooldowns))
        self.tails = TailModel(
            group_weight=self.config.tail_group_weight,
            band_weight=self.config.tail_band_weight,
            prior=log_normal_prior(self.config.tail_prior_k, self.config.tail_prior_width),
        )
        self.clock: datetime | None = None
        self.last_human: datetime | None = None
        self.context: str = "other"
        self.occupied: dict[str, bool] = {}  # bed/seat sensor -> occupied
        self.rest_rooms: dict[str, str] = {}  # bed/seat sensor -> room
        self.rest_kinds: dict[str, str] = {}  # bed/seat sensor -> kind
        self.has_bed = False
        self.bed_since: datetime | None = None
        self.bed_exit: datetime | None = None
        self.bed_exit_alerted: set[str] = set()
        self.episode_alerted: set[str] = set()
        self.night_exit_minutes: list[float] = []
        self.night_stay: datetime | None = None  # start of the stay a night exit interrupted
        self.rise_pending: datetime | None = None  # start of the night stay; pad empty, not yet out of the bedroom
        self.bath_since: datetime | None = None  # first event of the current bathroom stay
        self.bath_last: datetime | None = None  # its latest event
        self.bath_visit_minutes: list[float] = []
        self.bath_alerted = False
        self.passage_from: str | None = None  # context before the current front-door passage began
        self.passage_last: datetime | None = None  # its latest door event

    # --- inputs -----------------------------------------------------------------------------------------------

    def on_event(self, event: HomeEvent) -> list[Alert]:
        """Process one sensor event; returns alerts established up to this moment (the clock advances first)."""
        ts = event.ts if self.clock is None else max(event.ts, self.clock)
        alerts = self.tick(ts)
        was_in_bed = self._in_bed()
        if event.kind in ("bed", "seat"):
            self.occupied[event.sensor] = event.value == 1
            self.rest_rooms[event.sensor] = event.room
            self.rest_kinds[event.sensor] = event.kind
            self.has_bed = self.has_bed or event.kind == "bed"
        self._bed_transition(was_in_bed, self._in_bed(), ts)
        if event.is_human:
            self.routine.count_event(ts)
            if self.last_human is not None:
                start = self.last_human + self.config.refractory
                if ts > start:  # a new bout after a real silence: time at risk plus one event
                    if self.context != "away":
                        # how improbable this silence was *before* the model learns from it: tail evidence
                        lam = -math.log(max(self._exp_survival(ts)[1], 1e-300))
                        self.tails.observe(self.context, lam, day_band(self.last_human.hour))
                    self.routine.observe_silence(self.context, start, ts, ended=True)
            self.last_human = ts
            if event.doorway == "exterior":
                self._track_passage(event)
            if event.value == 1 or event.kind in REST_KINDS or event.doorway is not None:
                self.context = self._context_of(event)
            # else: a sensor that stops seeing someone (a PIR clearing, a radar's "nobody here") says the person
            # *was* in its room, not that they still are: they may have gone on to the room of a later event, to
            # bed, or out of the front door. The clock restarts; where the silence is judged does not change.
            self.episode_alerted = set()
            self._track_stays(ts, event.value == 1)
            if self.context == "away":
                self.bed_exit = None  # went out: not a night-time wandering/fall question any more
        return alerts

    def tick(self, now: datetime) -> list[Alert]:
        """Advance the clock to ``now`` and return alerts that became due; call it periodically (e.g. 1/min)."""
        if self.clock is None:
            self.clock = now
            return []
        if now <= self.clock:
            return []
        self.routine.observe_time(self.clock, now, in_bed=self._in_bed() if self.has_bed else None)
        self.clock = now
        return (
            self._check_silence(now)
            + self._check_bathroom_stay(now)
            + self._check_morning_rise(now)
            + self._check_bedtime(now)
            + self._check_bed_exit(now)
        )

    # --- state helpers ----------------------------------------------------------------------------------------

    def in_bed_since(self) -> datetime | None:
        """Local time since when a bed pad says the person is in bed (None: not in bed, or no pad)."""
        return self.bed_since if self._in_bed() else None

    def _in_bed(self) -> bool:
        return any(occ and self.rest_kinds.get(s) == "bed" for s, occ in self.occupied.items())

    def _context_of(self, event: HomeEvent) -> str:
        """Where the silence that starts now is judged: at rest, out, or the room last seen in."""
        doorway = event.doorway
        if doorway == "exterior":
            # out if the passage through the front door began at home, in (at the entrance) if it began while out
            return "entrance" if self.passage_from == "away" else "away"
        if doorway == "interior":
            return "hall"  # passed an inner doorway: in transit, on either side of it
        for sensor, occ in self.occupied.items():
            if occ and (event.sensor == sensor or event.room == self.rest_rooms.get(sensor)):
                return self.rest_kinds[sensor]
        return event.room

    def _track_passage(self, event: HomeEvent) -> None:
        """One passage through the front door -- an opening, its closing however much later, and door events
        moments after -- has one direction, set by where the person was when it began: coming home and collapsing
        in the hall must not read as "still out". Only an opening begins a passage."""
        new_passage = self.passage_last is None or event.ts - self.passage_last > _PASSAGE
        if self.passage_from is None or (event.value == 1 and new_passage):
            self.passage_from = self.context
        self.passage_last = event.ts

    def _bed_transition(self, was: bool, now_in: bool, ts: datetime) -> None:
        if now_in and not was:
            since = ts
            if self.bed_exit is not None:
                self.night_exit_minutes = [*self.night_exit_minutes, (ts - self.bed_exit).total_seconds() / 60][-30:]
                # Back from a night exit (toilet): the same night goes on, so the next exit is again one out of
                # sleep (a resident up again 5 min after returning is not "just lying down").
                since = self.night_stay or ts
            self.bed_since, self.bed_exit, self.bed_exit_alerted = since, None, set()
        elif was and not now_in:
            slept = self.bed_since is not None and ts - self.bed_since >= timedelta(minutes=30)
            if slept and self._night_exit(ts):
                self.bed_exit, self.bed_exit_alerted, self.night_stay = ts, set(), self.bed_since
            night = self.rise_pending or self.bed_since
            if night is not None and ts - night >= self.config.night_in_bed_min:
                # Pads miss light or edge-lying sleepers: until this person is seen outside the bedroom, the
                # night stay is not over for the morning-rise test (getting up means leaving the bedroom).
                self.rise_pending = night
            self.bed_since = None

    def _track_stays(self, ts: datetime, on: bool) -> None:
        """Bathroom stays (learned durations) and the pending morning rise, after each human event.

        A stay is a run of "someone here" events in the bathroom, none more than ``bathroom_presence_gap`` after
        the previous one; an event elsewhere, an "off" edge there (the radar saw the person leave) or a longer
        gap ends it (the person may have left unseen).
        """
        gap = self.config.bathroom_presence_gap
        here = self.context == "bathroom" and on
        last = self.bath_last
        if self.bath_since is not None and last is not None and (not here or ts - last > gap):
            # Until the first sign of having left, at most one gap after the last event there: errs long.
            minutes = (min(ts, last + gap) - self.bath_since).total_seconds() / 60
            self.bath_visit_minutes = [*self.bath_visit_minutes, minutes][-30:]
            self.bath_since, self.bath_last = None, None
        if here:
            if self.bath_since is None:
                self.bath_since, self.bath_alerted = ts, False
            self.bath_last = ts
        if self.rise_pending is not None and self.context not in self._bed_rooms() | {"bed"}:
            self.rise_pending = None  # seen outside the bedroom (or went out): up for the day

    def _night_exit(self, ts: datetime) -> bool:
        """A bed exit *inside* the night: usually in bed at this hour and still in bed an hour later.

        Only then is "not back soon" unusual. An exit in the last hour of a sleep period is where people get up for
        good: the morning rise (P(in bed) is still >= 0.7 in the hour of a 05:30 rise when the person is usually up
        by 06:30) or the end of an afternoon nap (a one-hour block of P >= 0.7). Judging the exit hour alone turned
        every early rise and every nap of a fall-risk facility resident into a "night" bed-exit alert.
        """
        p = self.config.night_p_in_bed
        later = ts + timedelta(hours=1)
        return self.routine.p_in_bed(ts.hour) >= p and self.routine.p_in_bed(later.hour) >= p

    # --- detectors --------------------------------------------------------------------------------------------

    def silence_probability(self, now: datetime) -> tuple[float, float]:
        """(Λ, S) of the current silence at ``now``: expected new bouts and the chance of a silence this long.

        ``S`` is the exponential survival of the bout-hazard model, corrected for this home's learned tail
        heaviness in that context (:mod:`alerts.tails`) when ``tail_calibration`` is on.
        """
        lam, p = self._exp_survival(now)
        if self.config.tail_calibration and self.last_human is not None:
            p = self.tails.survival(self.context, -math.log(max(p, 1e-300)), day_band(self.last_human.hour))
        return lam, p

    def _exp_survival(self, now: datetime) -> tuple[float, float]:
        if self.last_human is None:
            return 0.0, 1.0
        start = self.last_human + self.config.refractory
        lam = self.routine.integrated_hazard(self.context, start, now)
        if self.has_bed and self.context != "bed" and self.context in self._bed_rooms():
            # Last seen in the bedroom, pad says empty: pads miss light or edge-lying sleepers, so at hours when
            # this person is usually in bed (P >= 1/2) the silence is a mixture of "back in bed, unseen" and "up".
            p_bed = self.routine.p_in_bed(self.last_human.hour)
            p_bed = p_bed if p_bed >= 0.5 else 0.0  # only in the hours this person usually spends in bed
            lam_bed = self.routine.integrated_hazard("bed", start, now)
            p = p_bed * math.exp(-lam_bed) + (1.0 - p_bed) * math.exp(-lam)
            return -math.log(max(p, 1e-300)), p
        return lam, math.exp(-lam)

    def learning(self, now: datetime) -> bool:
        """Still in the learning period: less than ``learning_period`` of this home observed."""
        return self.routine.observed_hours() < self.config.learning_period.total_seconds() / 3600.0

    def alpha(self) -> float:
        """Per-silence significance level that keeps the expected false alerts at the 30-day budget."""
        lo, hi = self.config.alpha_range
        return min(hi, max(lo, self.config.false_alert_budget / (30.0 * self.routine.bouts_per_day())))

    def _bed_rooms(self) -> set[str]:
        return {self.rest_rooms[s] for s, kind in self.rest_kinds.items() if kind == "bed"}

    def _silence_type(self, now: datetime) -> str:
        if self.context == "bed":
            lo, hi = self.config.morning_hours
            night = self.bed_since is not None and now - self.bed_since >= self.config.night_in_bed_min
            return "no_morning_rise" if night and lo <= now.hour < hi else "inactivity"
        return "bathroom_prolonged" if self.context == "bathroom" else "inactivity"

    def _check_silence(self, now: datetime) -> list[Alert]:
        if self.last_human is None or self.context == "away":
            return []
        silence = now - self.last_human
        floor = self.config.bathroom_min_silence if self.context == "bathroom" else self.config.min_silence
        if self.learning(now):
            floor = max(floor, self.config.learning_min_silence)
        if silence < floor:
            return []
        kind = self._silence_type(now)
        if kind in self.episode_alerted:
            return []
        lam, p = self.silence_probability(now)
        if p >= self.alpha():
            return []
        self.episode_alerted.add(kind)
        if not self.gate.allow(kind, now, self.profile.resident_id):
            return []
        return [self._silence_alert(kind, now, lam, p)]

    def _check_morning_rise(self, now: datetime) -> list[Alert]:
        """Still in bed since the night although, an hour ago, this person is (almost) never in bed any more.

        ``p_in_bed(h)`` is the learned share of hour ``h`` spent in bed; one morning per day is one opportunity,
        so the significance level is the 30-day budget / 30. Waiting for a whole such hour is the grace period.
        """
        lo, hi = self.config.morning_hours
        in_bed = self._in_bed()
        # The night stay: in bed since, or (pad empty since) the start of the night while still only in the
        # bedroom. Bedroom motion does not end it: people stir in bed, and pads miss light or edge-lying sleepers.
        night = self.rise_pending or (self.bed_since if in_bed else None)
        if not (self.has_bed and night is not None and lo <= now.hour < hi):
            return []
        if now - night < self.config.night_in_bed_min or "no_morning_rise" in self.episode_alerted:
            return []
        hour_ago = (now - timedelta(hours=1)).hour
        # The current stay covered that whole hour: leave it out of the habit it is judged by (in bed: an hour in
        # bed; pad empty: an observed hour out of bed that is part of the anomaly, not of the routine).
        if in_bed:
            p_hour_ago = self.routine.p_in_bed(hour_ago, exclude_in_bed=1.0)
        else:
            p_hour_ago = self.routine.p_in_bed(hour_ago, exclude_observed=1.0)
        if not lo <= hour_ago or p_hour_ago >= self.config.morning_budget / 30.0:
            return []
        self.episode_alerted.add("no_morning_rise")
        if not self.gate.allow("no_morning_rise", now, self.profile.resident_id):
            return []
        lam, p = self.silence_probability(now)
        alert = self._silence_alert("no_morning_rise", now, lam, p)
        alert.evidence["p_in_bed_hour_ago"] = round(p_hour_ago, 4)
        alert.evidence["night_since"] = night.isoformat()
        alert.evidence["pad_occupied"] = in_bed
        return [alert]

    def _check_bedtime(self, now: datetime) -> list[Alert]:
        """Not in bed, and silent, through an hour in which this person is (almost) always in bed.

        The evening is when long quiet spells are normal (television), so the silence test alone learns to wait
        there -- a fall at 21:00 would otherwise go unseen until the morning. The bed habit says more: a person
        who is practically always in bed by midnight, is not, and has not moved for an hour, is checked on. One
        night is one opportunity (the morning-rise budget); only with a bed pad; not while out, not when last seen
        in a bedroom (the pad may miss a light sleeper), not after a night bed exit (``not_back_in_bed``).
        """
        cfg = self.config
        if not self.has_bed or self._in_bed() or self.last_human is None or self.bed_exit is not None:
            return []
        if self.context in {"away", "bed"} | self._bed_rooms() or "inactivity" in self.episode_alerted:
            return []
        silence = now - self.last_human
        if silence < cfg.not_back_floor:
            return []
        hour_ago = (now - timedelta(hours=1)).hour
        p_hour_ago = self.routine.p_in_bed(hour_ago, exclude_observed=1.0)  # the ongoing hour is the anomaly
        if p_hour_ago < 1.0 - cfg.morning_budget / 30.0 or self.learning(now):
            return []
        self.episode_alerted.add("inactivity")
        if not self.gate.allow("inactivity", now, self.profile.resident_id):
            return []
        lam, p = self.silence_probability(now)
        evidence = {
            **self._silence_alert("inactivity", now, lam, p).evidence,
            "p_in_bed_hour_ago": round(p_hour_ago, 4),
            "rule": "not_in_bed_at_bedtime",
        }
        zh, en = texts.bedtime(hour_ago, self.last_human, now, self.context)
        return [self._make("inactivity", now, zh, en, evidence)]

    def _check_bathroom_stay(self, now: datetime) -> list[Alert]:
        """In the bathroom (every event since the stay began was there) far longer than this person's visits.

        The silence test cannot see a person who is still moving (sitting on the toilet, unwell, unable to get
        up: a PIR or radar keeps seeing them), so the stay itself is judged: longer than ``bathroom_stay_factor``
        x the longest of the last 30 visits, never below ``bathroom_stay_floor``; only while the person is still
        seen there (an event within ``bathroom_presence_gap``), a quiet bathroom is the silence test's question.
        """
        cfg = self.config
        if self.bath_since is None or self.bath_last is None or self.bath_alerted:
            return []
        if now - self.bath_last > cfg.bathroom_presence_gap:
            return []
        usual = max(self.bath_visit_minutes, default=0.0)
        threshold = max(cfg.bathroom_stay_floor, timedelta(minutes=cfg.bathroom_stay_factor * usual))
        stay = now - self.bath_since
        if stay < threshold:
            return []
        self.bath_alerted = True
        if not self.gate.allow("bathroom_prolonged", now, self.profile.resident_id):
            return []
        since = self.bath_since
        zh, en = texts.bathroom_stay(since, stay, usual if self.bath_visit_minutes else None)
        evidence = {
            "stay_start": since.isoformat(),
            "stay_minutes": round(stay.total_seconds() / 60, 1),
            "threshold_minutes": round(threshold.total_seconds() / 60, 1),
            "usual_max_minutes": round(usual, 1),
            "context": self.context,
            "lives_alone": self.profile.lives_alone,
            "empty_nest": self.profile.empty_nest,
        }
        return [self._make("bathroom_prolonged", now, zh, en, evidence)]

    def _check_bed_exit(self, now: datetime) -> list[Alert]:
        if self.bed_exit is None:
            return []
        cfg = self.config
        if self.routine.p_in_bed(now.hour) < cfg.night_p_in_bed:
            self.bed_exit = None  # the night is over: this was the morning rise
            return []
        out = now - self.bed_exit
        alerts = []
        limit = timedelta(minutes=self.profile.bed_exit_minutes)
        if self.profile.fall_risk and out >= limit and "bed_exit_night" not in self.bed_exit_alerted:
            self.bed_exit_alerted.add("bed_exit_night")
            if self.gate.allow("bed_exit_night", now, self.profile.resident_id):
                alerts.append(self._bed_exit_alert(now, limit))
        usual = max(self.night_exit_minutes, default=0.0)
        threshold = max(cfg.not_back_floor, timedelta(minutes=cfg.not_back_factor * usual))
        deep = min(self.routine.p_in_bed(now.hour), self.routine.p_in_bed(self.bed_exit.hour))
        # Last seen in the bedroom: most likely back in bed unseen by the pad (a known pad failure); a silence
        # there is the inactivity detector's question. "Not back in bed" means up and about elsewhere.
        elsewhere = self.context not in self._bed_rooms() | {"bed"}
        if (
            elsewhere
            and out >= threshold
            and deep >= cfg.deep_night_p_in_bed
            and "not_back_in_bed" not in self.bed_exit_alerted
        ):
            self.bed_exit_alerted.add("not_back_in_bed")
            if self.gate.allow("not_back_in_bed", now, self.profile.resident_id):
                alerts.append(self._not_back_alert(now, usual, threshold))
        return alerts

    # --- alert construction -----------------------------------------------------------------------------------

    def _make(self, kind: str, now: datetime, zh: str, en: str, evidence: dict[str, Any]) -> Alert:
        severity = BASE_SEVERITY[kind].bump(self.profile.priority_bump)
        return Alert(
            ts=now,
            type=kind,
            severity=severity,
            explanation_zh=zh,
            explanation_en=en,
            evidence=evidence,
            resident_id=self.profile.resident_id,
            site_id=self.profile.site_id,
        )

    def _silence_alert(self, kind: str, now: datetime, lam: float, p: float) -> Alert:
        assert self.last_human is not None
        since = self.last_human
        expected = self.routine.expected_events(since, now)
        if kind == "no_morning_rise":
            bed_since = self.rise_pending or self.bed_since or since
            zh, en = texts.morning_rise(self.routine.usual_rise(), bed_since, now, since, self._in_bed())
        elif kind == "bathroom_prolonged":
            zh, en = texts.bathroom_silence(since, now, p)
        else:
            zh, en = texts.silence(since, now, expected, self.context, p)
        evidence = {
            "silence_start": since.isoformat(),
            "silence_minutes": round((now - since).total_seconds() / 60, 1),
            "context": self.context,
            "expected_events": round(expected, 2),
            "expected_bouts": round(lam, 3),
            "p_silence": p,
            "alpha": self.alpha(),
            "p_poisson": self._exp_survival(now)[1],
            "tail_k": self.tails.typical_k(self.context, day_band(since.hour)),
            "lives_alone": self.profile.lives_alone,
            "empty_nest": self.profile.empty_nest,
        }
        return self._make(kind, now, zh, en, evidence)

    def _bed_exit_alert(self, now: datetime, limit: timedelta) -> Alert:
        assert self.bed_exit is not None
        minutes = int(limit.total_seconds() // 60)
        zh, en = texts.bed_exit(self.bed_exit, now, minutes)
        evidence = {"bed_exit": self.bed_exit.isoformat(), "limit_minutes": minutes, "context": self.context}
        return self._make("bed_exit_night", now, zh, en, evidence)

    def _not_back_alert(self, now: datetime, usual: float, threshold: timedelta) -> Alert:
        assert self.bed_exit is not None
        zh, en = texts.not_back_in_bed(self.bed_exit, now, usual if self.night_exit_minutes else None)
        evidence = {
            "bed_exit": self.bed_exit.isoformat(),
            "threshold_minutes": round(threshold.total_seconds() / 60, 1),
            "p_in_bed_now": round(self.routine.p_in_bed(now.hour), 3),
            "context": self.context,
        }
        return self._make("not_back_in_bed", now, zh, en, evidence)

    # --- replay, persistence ----------------------------------------------------------------------------------

    def replay(
        self, events: Iterable[HomeEvent], until: datetime | None = None, step: timedelta = timedelta(minutes=1)
    ) -> list[Alert]:
        """Feed events in order on a virtual clock that ticks every ``step`` (and at each event) up to ``until``.

        This is exactly what the live path does with a real clock, so offline evaluation runs the same code.
        """
        alerts: list[Alert] = []
        for event in events:
            alerts += self._tick_until(event.ts, step)
            alerts += self.on_event(event)
        if until is not None:
            alerts += self._tick_until(until, step)
            alerts += self.tick(until)
        return alerts

    def _tick_until(self, end: datetime, step: timedelta) -> list[Alert]:
        alerts: list[Alert] = []
        if self.clock is None:
            return alerts
        t = _EPOCH + ((self.clock - _EPOCH) // step + 1) * step  # next grid point after the clock
        while t < end:
            alerts += self.tick(t)
            t += step
        return alerts

    @classmethod
    def from_history(
        cls,
        events: Iterable[HomeEvent],
        now: datetime,
        profile: ResidentProfile | None = None,
        config: DetectorConfig | None = None,
    ) -> HomeActivityMonitor:
        """Rebuild the state at ``now`` from stored events (start-up): learned routine, silence clock, cooldowns.

        Alerts that the replay re-derives are dropped (they were emitted before the restart); the episode and
        cooldown state they leave behind prevents emitting them twice.
        """
        monitor = cls(profile, config)
        monitor.replay(sorted(events, key=lambda e: e.ts), until=now)
        return monitor

    def snapshot(self) -> dict[str, Any]:
        """JSON-able state (routine, silence clock, bed state, cooldowns)."""

        def iso(ts: datetime | None) -> str | None:
            return ts.isoformat() if ts is not None else None

        return {
            "version": 1,
            "routine": self.routine.snapshot(),
            "tails": self.tails.snapshot(),
            "gate": self.gate.snapshot(),
            "clock": iso(self.clock),
            "last_human": iso(self.last_human),
            "context": self.context,
            "occupied": dict(self.occupied),
            "rest_rooms": dict(self.rest_rooms),
            "rest_kinds": dict(self.rest_kinds),
            "has_bed": self.has_bed,
            "bed_since": iso(self.bed_since),
            "bed_exit": iso(self.bed_exit),
            "bed_exit_alerted": sorted(self.bed_exit_alerted),
            "episode_alerted": sorted(self.episode_alerted),
            "night_exit_minutes": list(self.night_exit_minutes),
            "rise_pending": iso(self.rise_pending),
            "night_stay": iso(self.night_stay),
            "bath_since": iso(self.bath_since),
            "bath_last": iso(self.bath_last),
            "bath_visit_minutes": list(self.bath_visit_minutes),
            "bath_alerted": self.bath_alerted,
            "passage_from": self.passage_from,
            "passage_last": iso(self.passage_last),
        }

    @classmethod
    def restore(
        cls, data: dict[str, Any], profile: ResidentProfile | None = None, config: DetectorConfig | None = None
    ) -> HomeActivityMonitor:
        """Inverse of :meth:`snapshot` (profile and config are deployment settings, passed in again)."""

        def dt(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value is not None else None

        monitor = cls(profile, config)
        monitor.routine.restore(data["routine"])
        monitor.tails.restore(data.get("tails", {}))
        monitor.gate.restore(data["gate"])
        monitor.clock = dt(data["clock"])
        monitor.last_human = dt(data["last_human"])
        monitor.context = data["context"]
        monitor.occupied = {k: bool(v) for k, v in data["occupied"].items()}
        monitor.rest_rooms = dict(data["rest_rooms"])
        monitor.rest_kinds = dict(data["rest_kinds"])
        monitor.has_bed = bool(data["has_bed"])
        monitor.bed_since = dt(data["bed_since"])
        monitor.bed_exit = dt(data["bed_exit"])
        monitor.bed_exit_alerted = set(data["bed_exit_alerted"])
        monitor.episode_alerted = set(data["episode_alerted"])
        monitor.night_exit_minutes = [float(x) for x in data["night_exit_minutes"]]
        # Added later: snapshots of older versions lack them (start empty, as a fresh monitor would).
        monitor.rise_pending = dt(data.get("rise_pending"))
        monitor.night_stay = dt(data.get("night_stay"))
        monitor.bath_since = dt(data.get("bath_since"))
        monitor.bath_last = dt(data.get("bath_last"))
        monitor.bath_visit_minutes = [float(x) for x in data.get("bath_visit_minutes", [])]
        monitor.bath_alerted = bool(data.get("bath_alerted", False))
        monitor.passage_from = data.get("passage_from")
        monitor.passage_last = dt(data.get("passage_last"))
        return monitor
