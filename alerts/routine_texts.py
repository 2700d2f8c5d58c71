"""Explanations of the routine monitor's alerts, zh-CN first, then English (pure string building).

Why a module of its own: the families and operators who read these are Chinese speakers, and every sentence states
the expected against the observed ("usually ~14 events 08:00-09:00; none since 06:12"). Keeping the wording here
keeps :mod:`alerts.inactivity` about detection, and lets a translator find every sentence in one place.
"""

from __future__ import annotations

from datetime import datetime, timedelta

Texts = tuple[str, str]

_ROOM_ZH = {
    "bed": "床上",
    "seat": "座椅/沙发",
    "bathroom": "卫生间",
    "bedroom": "卧室",
    "kitchen": "厨房",
    "living": "客厅",
    "hall": "走廊",
    "entrance": "玄关",
    "other": "其他区域",
    "away": "外出",
}
_ROOM_EN = {"bed": "in bed", "seat": "on the seat/sofa", "away": "out"}


def where(context: str) -> Texts:
    """Where the person was last seen, as a place (zh) and as "last seen ..." (en)."""
    return _ROOM_ZH.get(context, context), _ROOM_EN.get(context, f"in the {context}")


def duration(delta: timedelta) -> Texts:
    minutes = int(delta.total_seconds() // 60)
    h, m = divmod(minutes, 60)
    if h:
        return f"{h} 小时 {m} 分钟", f"{h} h {m:02d} min"
    return f"{m} 分钟", f"{m} min"


def probability(p: float) -> str:
    return f"{p:.0e}" if p < 0.01 else f"{p:.2f}"


def silence(since: datetime, now: datetime, expected: float, context: str, p: float) -> Texts:
    dur_zh, dur_en = duration(now - since)
    where_zh, where_en = where(context)
    window = f"{since:%H:%M}–{now:%H:%M}"
    zh = (
        f"通常 {window} 约有 {expected:.0f} 次活动；自 {since:%H:%M} 起无任何活动（已 {dur_zh}，"
        f"最后位置：{where_zh}）；按其习惯出现如此长时间安静的概率约 {probability(p)}。"
    )
    en = (
        f"Usually ~{expected:.0f} activity events {window}; none since {since:%H:%M} ({dur_en}, last seen "
        f"{where_en}); chance of such a silence for this person at this time ~{probability(p)}."
    )
    return zh, en


def bathroom_silence(since: datetime, now: datetime, p: float) -> Texts:
    dur_zh, dur_en = duration(now - since)
    zh = f"自 {since:%H:%M} 起一直在卫生间且无活动（已 {dur_zh}）；按其习惯如此长时间停留的概率约 {probability(p)}。"
    en = (
        f"In the bathroom since {since:%H:%M} with no movement ({dur_en}); a stay this long has a "
        f"probability of ~{probability(p)} for this person."
    )
    return zh, en


def morning_rise(
    rise_hour: int | None, bed_since: datetime, now: datetime, since: datetime, pad_occupied: bool
) -> Texts:
    rise_txt = f"{rise_hour:02d}:00" if rise_hour is not None else "?"
    if pad_occupied:
        last_zh, last_en = f"{since:%H:%M} 起无活动", f"no activity since {since:%H:%M}"
    else:
        last_zh, last_en = "床垫显示离床，但未离开卧室", "bed pad empty, but not seen outside the bedroom"
    zh = f"通常约 {rise_txt} 前起床；自 {bed_since:%H:%M} 卧床，至 {now:%H:%M} 仍未起床（{last_zh}）。"
    en = f"Usually up by ~{rise_txt}; in bed since {bed_since:%H:%M} and still not up at {now:%H:%M} ({last_en})."
    return zh, en


def bedtime(in_bed_by_hour: int, since: datetime, now: datetime, context: str) -> Texts:
    dur_zh, dur_en = duration(now - since)
    where_zh, where_en = where(context)
    zh = (
        f"通常 {in_bed_by_hour:02d}:00 前已上床；至 {now:%H:%M} 仍未上床，自 {since:%H:%M} 起无任何活动（已 {dur_zh}，"
        f"最后位置：{where_zh}）。"
    )
    en = (
        f"Usually in bed by {in_bed_by_hour:02d}:00; not in bed at {now:%H:%M} and no activity since {since:%H:%M} "
        f"({dur_en}, last seen {where_en})."
    )
    return zh, en


def bathroom_stay(since: datetime, stay: timedelta, usual_max_minutes: float | None) -> Texts:
    dur_zh, dur_en = duration(stay)
    if usual_max_minutes is not None:
        usual_zh = f"以往最长约 {usual_max_minutes:.0f} 分钟"
        usual_en = f"visits usually last <= {usual_max_minutes:.0f} min"
    else:
        usual_zh, usual_en = "尚无如厕记录", "no visits learned yet"
    zh = f"自 {since:%H:%M} 起一直在卫生间（已 {dur_zh}，仍有活动）；{usual_zh}。"
    en = f"In the bathroom since {since:%H:%M} ({dur_en}, still moving); {usual_en}."
    return zh, en


def bed_exit(exit_at: datetime, now: datetime, limit_minutes: int) -> Texts:
    dur_zh, dur_en = duration(now - exit_at)
    zh = f"夜间 {exit_at:%H:%M} 离床，{limit_minutes} 分钟内未回床（已 {dur_zh}）；该长者有跌倒风险。"
    en = f"Left bed at {exit_at:%H:%M} at night and not back within {limit_minutes} min ({dur_en}); fall-risk resident."
    return zh, en


def not_back_in_bed(exit_at: datetime, now: datetime, usual_max_minutes: float | None) -> Texts:
    dur_zh, dur_en = duration(now - exit_at)
    if usual_max_minutes is not None:
        usual_zh = f"以往夜间离床最长约 {usual_max_minutes:.0f} 分钟"
        usual_en = f"night-time exits usually last <= {usual_max_minutes:.0f} min"
    else:
        usual_zh, usual_en = "尚无夜间离床记录", "no night-time exits learned yet"
    zh = f"通常此时在床上睡觉；{exit_at:%H:%M} 离床后 {dur_zh} 仍未回床（{usual_zh}）。"
    en = f"Usually asleep at this hour; left bed at {exit_at:%H:%M} and not back after {dur_en} ({usual_en})."
    return zh, en
