"""Exception tree of the contract package (see ``devices/__init__``)."""

from __future__ import annotations


class ContractError(Exception):
    """Base of everything the contract refuses."""


class TopicError(ContractError):
    """The topic does not follow the topic grammar."""


class PayloadError(ContractError):
    """The payload breaks the contract; ``reason`` is a stable reject reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
