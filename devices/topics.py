"""Topic grammar of the vendor contract, as validated value objects.

``[{prefix}/]eldercare/v1/dev/{device_id}/{channel}`` where channel is one of telemetry, event, status (device
to platform) or cmd (platform to device). Platform output goes to ``[{prefix}/]eldercare/v1/alerts/...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from devices.errors import TopicError

ROOT = "eldercare/v1"
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_DEVICE_ID_RE = re.compile(DEVICE_ID_PATTERN)


class Channel(StrEnum):
    TELEMETRY = "telemetry"
    EVENT = "event"
    STATUS = "status"
    CMD = "cmd"


UPSTREAM_CHANNELS = (Channel.TELEMETRY, Channel.EVENT, Channel.STATUS)


def valid_device_id(device_id: str) -> bool:
    """Device ids are topic levels and broker usernames: no wildcards, slashes or spaces."""
    return bool(_DEVICE_ID_RE.match(device_id))


def _join(prefix: str, rest: str) -> str:
    return f"{prefix}/{rest}" if prefix else rest


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    device_id: str
    channel: Channel
    prefix: str = ""

    def __post_init__(self) -> None:
        if not valid_device_id(self.device_id):
            raise TopicError(f"invalid device id {self.device_id!r}")

    def __str__(self) -> str:
        return _join(self.prefix, f"{ROOT}/dev/{self.device_id}/{self.channel.value}")

    @classmethod
    def parse(cls, topic: str, prefix: str = "") -> DeviceTopic:
        """Parse a concrete topic; raise :class:`TopicError` for anything off-grammar."""
        head = _join(prefix, f"{ROOT}/dev/")
        if not topic.startswith(head):
            raise TopicError(f"topic {topic[:200]!r} is not under {head!r}")
        parts = topic[len(head) :].split("/")
        if len(parts) != 2:
            raise TopicError(f"topic {topic[:200]!r} must be {head}{{device_id}}/{{channel}}")
        device_id, channel = parts
        try:
            ch = Channel(channel)
        except ValueError:
            raise TopicError(f"unknown channel {channel[:40]!r}") from None
        if not valid_device_id(device_id):
            raise TopicError(f"invalid device id {device_id[:80]!r}")
        return cls(device_id=device_id, channel=ch, prefix=prefix)


def device_filter(prefix: str = "") -> str:
    """Subscription filter for everything devices publish (the platform then rejects ``cmd`` echoes)."""
    return _join(prefix, f"{ROOT}/dev/+/+")


def shared_filter(group: str, prefix: str = "") -> str:
    """MQTT 5 shared subscription (spec 4.8.2) so that N ingest workers split the load."""
    return f"$share/{group}/{device_filter(prefix)}"


def alert_topic(prefix: str, site_id: str, alert_type: str) -> str:
    """Where the platform publishes alerts for consumers (control room, apps)."""
    return _join(prefix, f"{ROOT}/alerts/{site_id}/{alert_type}")


def device_acl_patterns(prefix: str = "") -> tuple[str, str]:
    """Mosquitto ACL patterns (``%u`` = username = device id): publish own topics, read own cmd only."""
    base = _join(prefix, f"{ROOT}/dev/%u")
    return (f"pattern write {base}/+", f"pattern read {base}/cmd")
