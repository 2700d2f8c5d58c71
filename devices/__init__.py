"""The vendor contract: topic grammar, payload models, JSON Schema/AsyncAPI export, device registry.

Exceptions (all derive from :class:`ContractError`)::

    ContractError
     ├── TopicError      a topic that is not ``[prefix/]eldercare/v1/dev/{device_id}/{channel}``
     └── PayloadError    a payload that does not satisfy the contract (carries a reject reason code)
"""

from devices.errors import ContractError, PayloadError, TopicError

__all__ = ["ContractError", "PayloadError", "TopicError"]
