"""The one settings object of the platform.

Every knob is an environment variable with the ``ELDERCARE_`` prefix (see docs/settings.md). The object is built
once in ``main()`` (or a test fixture) and passed down; nothing reads the environment at import time.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELDERCARE_", extra="ignore", frozen=True)

    # --- connections -------------------------------------------------------------------------------------
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/eldercare",
        description="libpq connection string of the platform database.",
    )
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker host.")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port.")
    mqtt_username: str | None = Field(default=None, description="Broker user of platform services.")
    mqtt_password: str | None = Field(default=None, description="Broker password of platform services.")
    topic_prefix: str = Field(
        default="",
        description="Optional prefix put in front of every topic (e.g. per test run or per tenant).",
    )

    # --- ingest ------------------------------------------------------------------------------------------
    ingest_client_id: str = Field(default="eldercare-ingest-1", description="MQTT client id of this worker.")
    ingest_share_group: str = Field(default="ingest", description="Shared-subscription group name.")
    ingest_session_expiry_s: int = Field(
        default=7 * 24 * 3600, ge=1, description="MQTT 5 session expiry: how long the broker keeps our queue."
    )
    ingest_receive_maximum: int = Field(
        default=10000,
        ge=1,
        le=65535,
        description="MQTT 5 Receive Maximum: un-acknowledged QoS 1 messages the broker may have in flight to us.",
    )
    ingest_batch_max: int = Field(default=5000, ge=1, description="Largest batch written in one transaction.")
    ingest_max_payload_bytes: int = Field(default=256 * 1024, ge=256, description="Larger payloads are rejected.")
    ingest_max_future_s: float = Field(
        default=300.0, ge=0, description="Timestamps further ahead of the receive time are rejected."
    )
    ingest_max_past_s: float = Field(
        default=40 * 24 * 3600.0,
        ge=0,
        description="Timestamps older than this are rejected (covers 30-day accelerated simulations).",
    )
    ingest_registry_refresh_s: float = Field(
        default=10.0, gt=0, description="How often the worker reloads the device registry."
    )
    ingest_metrics_interval_s: float = Field(default=5.0, gt=0, description="Seconds between metric log lines.")

    # --- detection (alerts/) ------------------------------------------------------------------------------
    detect_tick_s: float = Field(
        default=2.0, gt=0, description="Clock tick of the detection worker: long-lie stages, silent devices."
    )
    detect_activity_tick_s: float = Field(
        default=60.0, gt=0, description="How often the inactivity/routine monitors look at the clock."
    )
    detect_history_days: float = Field(
        default=21.0, ge=0, description="Days of sensor history replayed at start-up to rebuild routine state."
    )
    detect_long_lie_stages_s: list[float] = Field(
        default_factory=lambda: [30.0, 120.0, 600.0, 3600.0],
        min_length=1,
        description="Long-lie escalation stages: seconds on the floor (increasing; the last = clinical long lie).",
    )
    detect_snapshot_s: float = Field(
        default=300.0, gt=0, description="How often routine state is snapshotted (detector_state) for fast restarts."
    )
    detect_recovery_grace_s: float = Field(
        default=5.0, ge=0, description="Recovery evidence this soon after a fall is the fall itself (sensor lag)."
    )
    detect_bed_exit_minutes: float = Field(
        default=20.0,
        gt=0,
        le=720,
        description="Night bed exit of a fall-risk resident: alert if not back in bed within this many minutes "
        "(a resident's own bed_exit_minutes in the registry overrides it).",
    )
    detect_fusion_hold_s: float = Field(
        default=45.0,
        ge=0,
        description="A device fall supported only by 'no motion elsewhere' waits this long for confirmation (0: none).",
    )
    detect_client_id: str = Field(
        default="", description="MQTT client id of the alert publisher (default: <ingest_client_id>-detect)."
    )
    detect_db_retry_max_s: float = Field(
        default=10.0, gt=0, description="Longest back-off between retries of an alert insert during a DB outage."
    )
    detect_registry_refresh_s: float = Field(
        default=60.0, gt=0, description="How often the detection worker reloads the registry (new devices, residents)."
    )

    # --- demo --------------------------------------------------------------------------------------------
    state_dir: str = Field(
        default=".eldercare", description="Project-local folder for the demo's own PostgreSQL and Mosquitto."
    )

    log_level: str = Field(default="INFO", description="Python logging level.")

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_has_no_wildcards(cls, v: str) -> str:
        v = v.strip("/")
        if any(c in v for c in "+#\0"):
            raise ValueError("topic_prefix must not contain MQTT wildcards or NUL")
        return v


def settings_markdown() -> str:
    """docs/settings.md, generated from the model so the documentation cannot drift (checked by a test)."""
    lines = [
        "# Settings",
        "",
        "Every setting is an environment variable with the prefix `ELDERCARE_` (e.g. `ELDERCARE_DATABASE_URL`).",
        "They are read once at start-up into one validated object (`common/settings.py`) and passed down;",
        "`eldercare settings` prints the values in effect. This file is generated: `eldercare settings --markdown`.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        shown = "(empty)" if default in ("", None) else f"`{default}`"
        lines.append(f"| `ELDERCARE_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(lines) + "\n"
