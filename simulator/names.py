"""Chinese names and places for the generated registry (zh-CN first, as the registry format asks)."""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈"
GIVEN_F = [
    "秀英",
    "桂英",
    "秀兰",
    "玉兰",
    "桂兰",
    "凤英",
    "秀珍",
    "玉珍",
    "淑珍",
    "桂芳",
    "玉梅",
    "素珍",
    "美英",
    "金凤",
]
GIVEN_M = [
    "建国",
    "国华",
    "志强",
    "德明",
    "福生",
    "长根",
    "金龙",
    "宝林",
    "永福",
    "文忠",
    "荣华",
    "树林",
    "海生",
    "根宝",
]
CHILD = ["伟", "芳", "敏", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞"]
COMMUNITIES = ["东山社区", "西山社区", "南关厢社区", "北门社区", "新桥社区", "文苑社区", "梅园社区", "狮岭社区"]


def person(r: random.Random, sex: str, surname: str | None = None) -> tuple[str, str]:
    """(surname, full name)."""
    sur = surname or r.choice(SURNAMES)
    return sur, sur + r.choice(GIVEN_F if sex == "F" else GIVEN_M)


def child(r: random.Random, surname: str) -> str:
    return surname + r.choice(CHILD)


def phone(r: random.Random) -> str:
    return "+86" + r.choice(("138", "139", "135", "136", "150", "186", "187")) + f"{r.randrange(10**8):08d}"
