"""Generate the published contract: one JSON Schema per message kind and an AsyncAPI 3.0 document.

Generated from the same pydantic models that validate incoming traffic, so the published contract is exactly
what the platform enforces.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from devices.payloads import DEVICE_KINDS, KIND_CHANNEL, MODELS
from devices.topics import DEVICE_ID_PATTERN, ROOT

SCHEMA_ID_BASE = "https://eldercare.example/schemas/v1"


def json_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, model in MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"{SCHEMA_ID_BASE}/{kind}.json"
        schema["x-channel"] = KIND_CHANNEL[kind].value
        out[kind] = schema
    return out


def asyncapi_document() -> dict[str, Any]:
    schemas = json_schemas()
    messages: dict[str, Any] = {}
    for kind, schema in schemas.items():
        messages[kind] = {
            "name": kind,
            "title": schema.get("title", kind),
            "summary": (MODELS[kind].__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"schemaFormat": "application/schema+json;version=draft-2020-12", "schema": schema},
        }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    device_param = {"description": f"Device id, pattern {DEVICE_ID_PATTERN}"}
    for channel in ("telemetry", "event", "status"):
        kinds = [k for k, ch in KIND_CHANNEL.items() if ch.value == channel]
        channels[channel] = {
            "address": f"{ROOT}/dev/{{deviceId}}/{channel}",
            "description": f"Device to platform, QoS 1. Kinds: {', '.join(kinds)}"
            + ("; retained, also the last will (state offline)" if channel == "status" else ""),
            "parameters": {"deviceId": device_param},
            "messages": {k: {"$ref": f"#/components/messages/{k}"} for k in kinds},
        }
        operations[f"publish_{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"A device publishes its {channel}",
        }
    channels["cmd"] = {
        "address": f"{ROOT}/dev/{{deviceId}}/cmd",
        "description": "Platform to device commands (the device subscribes to its own cmd only)",
        "parameters": {"deviceId": device_param},
    }
    channels["alerts"] = {
        "address": f"{ROOT}/alerts/{{siteId}}/{{alertType}}",
        "description": "Platform output for alert consumers (control room, apps)",
        "parameters": {"siteId": {}, "alertType": {}},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Eldercare platform device contract",
            "version": "1.0.0",
            "description": "MQTT 5 contract for device vendors. Every payload is JSON with v=1, a per-device "
            "unique id, a timestamp (RFC 3339 with offset or epoch ms) and a kind. Devices authenticate with "
            "their own credentials (username = device id) and may publish only under their own prefix. "
            "Device kinds and the message kinds they may send: "
            + "; ".join(f"{d}: {', '.join(sorted(k))}" for d, k in DEVICE_KINDS.items()),
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {"host": "localhost:1883", "protocol": "mqtt", "protocolVersion": "5.0"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for kind, schema in json_schemas().items():
        path = directory / f"{kind}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    path = directory / "asyncapi.json"
    path.write_text(json.dumps(asyncapi_document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(path)
    return written


def vendor_guide_markdown() -> str:
    """docs/vendor-guide.md, generated from the contract itself (checked by a test)."""
    from devices.examples import EXAMPLES, SENDER
    from devices.reasons import REASONS

    out = [
        "# Vendor integration guide (MQTT contract v1)",
        "",
        "This page is generated from the contract code (`eldercare contract guide`); the machine-readable",
        "contract is `eldercare contract export DIR` (one JSON Schema per message kind + AsyncAPI 3.0).",
        "",
        "## Connecting",
        "",
        "- MQTT 5 (3.1.1 works too), QoS 1 for everything, TLS in production. Username = device id, password",
        "  issued by the platform (`eldercare provision broker`). A device may publish only under",
        f"  `{ROOT}/dev/{{device_id}}/` and subscribe only to its own `{ROOT}/dev/{{device_id}}/cmd`.",
        f"- Device ids match `{DEVICE_ID_PATTERN}`.",
        "- On connect set a last will on your `status` topic (retained, QoS 1) with `state: offline`, then publish",
        "  a retained birth message with `state: online`, battery, signal and firmware; repeat it as a heartbeat",
        "  at least every `heartbeat_s` (registry) so that the platform knows the device still protects someone.",
        "- Check a live device before going to production: `eldercare contract check DEVICE_ID --kind KIND`.",
        "",
        "## Topics",
        "",
        "| topic | direction | message kinds |",
        "|---|---|---|",
    ]
    for channel in ("telemetry", "event", "status"):
        kinds = ", ".join(f"`{k}`" for k, ch in KIND_CHANNEL.items() if ch.value == channel)
        out.append(f"| `{ROOT}/dev/{{device_id}}/{channel}` | device -> platform | {kinds} |")
    out += [
        f"| `{ROOT}/dev/{{device_id}}/cmd` | platform -> device | commands |",
        "",
        "## Every message",
        "",
        "JSON object, UTF-8, at most 256 KiB, with `v` = 1, `id` (unique per device, `[A-Za-z0-9_.:-]{1,64}`: a",
        "counter is fine; the platform stores (device, id, ts) once, so resending after a lost PUBACK is safe),",
        "`ts` (RFC 3339 with an offset, or integer epoch milliseconds) and `kind`. Unknown fields are refused.",
        "NaN/Infinity are not JSON and are refused.",
        "",
        "## Which device kind may send what",
        "",
        "| device kind | message kinds |",
        "|---|---|",
    ]
    out += [f"| `{d}` | {', '.join(f'`{k}`' for k in sorted(kinds))} |" for d, kinds in DEVICE_KINDS.items()]
    out += ["", "## One example per message kind", ""]
    for kind, example in EXAMPLES.items():
        doc = inspect.cleandoc(MODELS[kind].__doc__ or "")  # the whole docstring: vendor-facing guidance
        out += [
            f"### `{kind}` ({KIND_CHANNEL[kind].value}, e.g. from a `{SENDER[kind]}`)",
            "",
            doc,
            "",
            "```json",
            json.dumps(example, ensure_ascii=False),
            "```",
            "",
        ]
    out += [
        "## When the platform refuses a message",
        "",
        "Nothing is dropped: a refused message is kept with its raw bytes and one of these reason codes (the",
        "conformance report and the operators' dashboards key on them).",
        "",
        "| reason | meaning |",
        "|---|---|",
    ]
    out += [f"| `{code}` | {text} |" for code, text in REASONS.items()]
    return "\n".join(out) + "\n"
