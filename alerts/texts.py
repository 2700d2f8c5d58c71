"""Alert explanations in zh-CN and English: expected vs observed, in words a carer understands (pure)."""

from __future__ import annotations

from datetime import datetime

from alerts.context import DeviceMeta, ZoneMeta
from alerts.falls import FallDetection

DEVICE_ZH = {
    "bed_sensor": "床垫传感器",
    "pir": "人体红外传感器",
    "door_contact": "门磁",
    "radar": "毫米波雷达",
    "wearable": "智能手环",
    "sos_button": "紧急呼叫按钮",
    "ble_gateway": "蓝牙网关",
}
DEVICE_EN = {
    "bed_sensor": "bed sensor",
    "pir": "motion sensor",
    "door_contact": "door contact",
    "radar": "radar",
    "wearable": "wearable",
    "sos_button": "SOS button",
    "ble_gateway": "BLE gateway",
}
ROOM_ZH = {
    "bedroom": "卧室", "bathroom": "卫生间", "kitchen": "厨房", "living": "客厅", "hall": "走廊", "entrance": "玄关",
    "corridor": "走廊", "dining": "餐厅", "activity": "活动室", "other": "其他区域",
}  # fmt: skip
FUSION_ZH = {
    "high_confidence": "设备置信度高",
    "corroborated": "有其他传感器佐证",
    "still_after": "事件后家中无人走动，长者未起身",
}
FUSION_EN = {
    "high_confidence": "high device confidence",
    "corroborated": "corroborated by other sensors",
    "still_after": "nobody moved in the home and the resident did not get up afterwards",
}


def duration(seconds: float) -> tuple[str, str]:
    s = max(0, round(seconds))
    if s < 120:
        return f"{s} 秒", f"{s} s"
    m = s // 60
    if m < 120:
        return f"{m} 分钟", f"{m} min"
    h, m = divmod(m, 60)
    return f"{h} 小时 {m} 分钟", f"{h} h {m:02d} min"


def device_fall(dev: DeviceMeta, room_kind: str, confidence: float, reason: str) -> tuple[str, str]:
    where_zh = ROOM_ZH.get(room_kind, "") if room_kind != "other" else ""
    where_en = f" in the {room_kind}" if room_kind != "other" else ""
    why_en = FUSION_EN.get(reason, reason)
    zh = (
        f"{DEVICE_ZH.get(dev.kind, dev.kind)}（{dev.id}）{where_zh}报告跌倒，置信度 {confidence:.2f}"
        f"（{FUSION_ZH.get(reason, reason)}）。期望：正常行走或坐卧；观察：跌倒。请立即确认长者状况。"
    )
    en = (
        f"The {DEVICE_EN.get(dev.kind, dev.kind)} ({dev.id}){where_en} reported a fall with confidence "
        f"{confidence:.2f} ({why_en}). Expected: normal movement; observed: a fall. Check on the resident now."
    )
    return zh, en


def accel_fall(d: FallDetection) -> tuple[str, str]:
    zh = (
        f"手环加速度计检测到跌倒：冲击峰值 {d.peak_g:.1f} g，身体姿态变化 {d.orientation_change_deg:.0f}°，"
        f"之后静止（波动 {d.stillness:.2f} g）。期望：日常活动中无此模式；观察：冲击后躺卧不动。"
    )
    en = (
        f"The wearable's accelerometer detected a fall: impact peak {d.peak_g:.1f} g, body orientation changed by "
        f"{d.orientation_change_deg:.0f} deg, then still (variation {d.stillness:.2f} g). Expected: no such "
        "pattern in daily activity; observed: an impact followed by lying still."
    )
    return zh, en


def sos(dev: DeviceMeta, long_press: bool) -> tuple[str, str]:
    press_zh = "长按" if long_press else "按下"
    press_en = "long-pressed" if long_press else "pressed"
    zh = f"长者{press_zh}了{DEVICE_ZH.get(dev.kind, dev.kind)}（{dev.id}）的紧急呼叫键，请立即联系。"
    en = f"The resident {press_en} the SOS button of the {DEVICE_EN.get(dev.kind, dev.kind)} ({dev.id}); call now."
    return zh, en


def long_lie(stage: int, threshold_s: float, cause: str, n_stages: int) -> tuple[str, str]:
    dur_zh, dur_en = duration(threshold_s)
    cause_zh = "跌倒后" if cause == "fall" else "被雷达发现躺在地上后"
    cause_en = "after a fall" if cause == "fall" else "since the radar saw a person lying on the floor"
    zh = (
        f"长时间倒地（第 {stage}/{n_stages} 级）：{cause_zh}已 {dur_zh} 未起身。期望：跌倒后数十秒内起身"
        f"（站立/坐起、离开房间、回到床上或行走）；观察：无任何起身迹象。倒地超过 1 小时有严重健康风险。"
    )
    en = (
        f"Long lie (stage {stage}/{n_stages}): still on the floor {dur_en} {cause_en}. Expected: up within tens "
        "of seconds (standing/sitting, leaving the room, back in bed or walking); observed: no sign of getting "
        "up. Lying on the floor for more than 1 hour carries serious health risks."
    )
    return zh, en


def zone_exit(zone: ZoneMeta, prev: ZoneMeta | None) -> tuple[str, str]:
    if zone.is_exit:
        zh = f"认知症长者的定位标签出现在出口区域（{zone.id}）。期望：留在安全照护区内；观察：到达出口。"
        en = (
            f"A resident with dementia was seen at an exit ({zone.id}). Expected: inside the secure zone; "
            "observed: at an exit."
        )
    else:
        src = prev.id if prev else "?"
        zh = f"认知症长者离开了安全照护区（{src} → {zone.id}）。期望：留在安全区内；观察：出现在非安全区域。"
        en = f"A resident with dementia left the secure zone ({src} -> {zone.id}). Expected: inside; observed: outside."
    return zh, en


def night_wandering(moves: int, minutes: int, zone: ZoneMeta) -> tuple[str, str]:
    zh = f"夜间游走：{minutes} 分钟内在 {moves} 个区域间移动（当前 {zone.id}）。期望：夜间在床休息；观察：持续走动。"
    en = (
        f"Night wandering: moved between zones {moves} times within {minutes} min (now in {zone.id}). "
        "Expected: resting at night; observed: walking about."
    )
    return zh, en


def device_silent(dev: DeviceMeta, last_seen: datetime, ts: datetime, offline: bool) -> tuple[str, str]:
    kind_zh, kind_en = DEVICE_ZH.get(dev.kind, dev.kind), DEVICE_EN.get(dev.kind, dev.kind)
    if offline:
        zh = f"安全关键设备{kind_zh}（{dev.id}）已离线（遗嘱消息/离线状态）：该处防护中断，请检查电源与网络。"
        en = (
            f"Safety-critical {kind_en} ({dev.id}) went offline (last will / offline status): protection lost "
            "here; check power and network."
        )
        return zh, en
    dur_zh, dur_en = duration((ts - last_seen).total_seconds())
    hb_zh, hb_en = duration(dev.heartbeat_s)
    zh = (
        f"安全关键设备{kind_zh}（{dev.id}）已 {dur_zh} 无任何消息。期望：至少每 {hb_zh} 一条；"
        f"观察：自 {last_seen:%H:%M:%S} UTC 起静默。该处防护中断。"
    )
    en = (
        f"Safety-critical {kind_en} ({dev.id}) has sent nothing for {dur_en}. Expected: a message at least every "
        f"{hb_en}; observed: silent since {last_seen:%H:%M:%S} UTC. Protection lost here."
    )
    return zh, en
