"""Reject reason codes of the contract: stable, published in the vendor guide, keyed on by dashboards."""

from __future__ import annotations

REASONS = {
    "oversize": "payload larger than the configured maximum",
    "unknown_topic": "topic outside the contract grammar",
    "malformed_json": "not parseable as JSON (incl. empty payload, NaN/Infinity, invalid UTF-8, absurd nesting)",
    "not_object": "JSON that is not an object",
    "unknown_kind": "missing or unknown 'kind'",
    "unsupported_version": "'v' is not a supported contract version",
    "schema_violation": "fields missing, of the wrong type, out of range or not allowed",
    "unknown_device": "device id not in the registry (or deactivated)",
    "device_mismatch": "device id in the payload differs from the topic's",
    "wrong_channel": "message kind published on another channel than the contract's",
    "kind_not_allowed": "this kind of device may not send this kind of message",
    "future_timestamp": "timestamp too far ahead of the receive time",
    "stale_timestamp": "timestamp too far in the past",
    "duplicate": "(device, message id, timestamp) already stored: a redelivery or a replay",
    "storage_error": "the database refused the row (kept here with the database's reason)",
}
