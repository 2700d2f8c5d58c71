-- Hourly activity per device: the operators' dashboards and the inactivity baselines read this instead of
-- scanning raw telemetry. Licensed TimescaleDB: a continuous aggregate with a refresh policy; Apache edition
-- or bare PostgreSQL: a plain materialized view of the same name and shape, refreshed by `eldercare db
-- maintain` (the platform's scheduler).

-- @if licensed
CREATE MATERIALIZED VIEW telemetry_hourly
WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device_id, kind, count(*) AS messages
FROM telemetry
GROUP BY 1, 2, 3
WITH NO DATA;
SELECT add_continuous_aggregate_policy('telemetry_hourly', start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');
ALTER TABLE telemetry SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id',
    timescaledb.compress_orderby = 'ts');
SELECT add_compression_policy('telemetry', INTERVAL '7 days');
SELECT add_retention_policy('telemetry', INTERVAL '400 days');
-- @end
-- @if not licensed
CREATE MATERIALIZED VIEW telemetry_hourly AS
SELECT date_trunc('hour', ts) AS bucket, device_id, kind, count(*) AS messages
FROM telemetry
GROUP BY 1, 2, 3
WITH NO DATA;
-- REFRESH ... CONCURRENTLY needs a unique index.
CREATE UNIQUE INDEX telemetry_hourly_key ON telemetry_hourly (bucket, device_id, kind);
-- @end
