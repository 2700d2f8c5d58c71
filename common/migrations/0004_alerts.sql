-- Alerts raised by the anomaly core (alerts/), and optional detector snapshots. Ordinary tables: alerts are
-- workflow rows (acknowledged, resolved, escalated), not time-series data.

CREATE TABLE alert (
    id              bigserial PRIMARY KEY,
    -- Deterministic key of one finding (site, resident, type, stage, device, event time): a worker that
    -- re-derives the same alert after a restart inserts nothing (ON CONFLICT DO NOTHING). Also the alert id
    -- published on MQTT, which goes out before the row exists (detection never waits for the database).
    dedup_key       text        NOT NULL UNIQUE,
    site_id         text        NOT NULL,
    resident_id     text,
    device_id       text,
    type            text        NOT NULL,
    severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'urgent', 'critical')),
    status          text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    ts              timestamptz NOT NULL,             -- event time: when the anomaly was established
    raised_at       timestamptz NOT NULL,             -- wall clock of the worker when it emitted the alert
    stage           integer,                          -- long-lie stage (1..4), else NULL
    explanation_zh  text        NOT NULL,
    explanation_en  text        NOT NULL,
    evidence        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    resolved_at     timestamptz,
    resolution      text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_site_ts ON alert (site_id, ts);
CREATE INDEX alert_ts ON alert (ts);
-- Start-up reads the open alerts (long lie in progress, devices still silent) and the recent ones (cooldowns).
CREATE INDEX alert_open ON alert (type, site_id) WHERE status = 'open';

-- Optional per-site detector snapshots (HomeActivityMonitor.snapshot()); state can always be rebuilt from
-- telemetry, a snapshot only makes the rebuild cheaper.
CREATE TABLE detector_state (
    site_id   text PRIMARY KEY,
    state     jsonb       NOT NULL,
    saved_at  timestamptz NOT NULL DEFAULT now()
);
