-- Raw device data. The natural key is (device_id, msg_id); TimescaleDB requires every unique index of a
-- hypertable to contain the partitioning column, so the key index carries ts too. A redelivery or a replay
-- repeats the message byte for byte (same ts), so it still collides and is stored once.

CREATE TABLE telemetry (
    ts           timestamptz NOT NULL,
    device_id    text        NOT NULL,
    msg_id       text        NOT NULL,
    kind         text        NOT NULL,
    received_at  timestamptz NOT NULL,
    data         jsonb       NOT NULL
);
CREATE UNIQUE INDEX telemetry_natural_key ON telemetry (device_id, msg_id, ts);

CREATE TABLE events (
    ts           timestamptz NOT NULL,
    device_id    text        NOT NULL,
    msg_id       text        NOT NULL,
    kind         text        NOT NULL,
    received_at  timestamptz NOT NULL,
    data         jsonb       NOT NULL
);
CREATE UNIQUE INDEX events_natural_key ON events (device_id, msg_id, ts);

CREATE TABLE device_status (
    ts           timestamptz NOT NULL,
    device_id    text        NOT NULL,
    msg_id       text        NOT NULL,
    kind         text        NOT NULL DEFAULT 'status',
    received_at  timestamptz NOT NULL,
    data         jsonb       NOT NULL
);
CREATE UNIQUE INDEX device_status_natural_key ON device_status (device_id, msg_id, ts);

-- @if timescaledb
SELECT create_hypertable('telemetry', 'ts', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE);
SELECT create_hypertable('events', 'ts', chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE);
SELECT create_hypertable('device_status', 'ts', chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE);
-- @end
-- @if not timescaledb
-- Bare PostgreSQL: plain tables with a time index, pruned by the platform's own retention job.
CREATE INDEX telemetry_ts ON telemetry (ts);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX device_status_ts ON device_status (ts);
-- @end

-- Everything the platform could not store as data, with why. Nothing is ever dropped silently.
CREATE TABLE rejects (
    id            bigserial PRIMARY KEY,
    received_at   timestamptz NOT NULL,
    topic         text        NOT NULL,
    device_id     text,
    msg_id        text,
    reason        text        NOT NULL,
    detail        text        NOT NULL,
    payload       bytea       NOT NULL,
    payload_size  integer     NOT NULL,
    truncated     boolean     NOT NULL DEFAULT false
);
CREATE INDEX rejects_received ON rejects (received_at);
CREATE INDEX rejects_reason ON rejects (reason, received_at);
