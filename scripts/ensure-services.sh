#!/usr/bin/env bash
# scripts/ensure-services.sh -- make sure the system services the project
# talks to are RUNNING and reachable the way the code expects:
#
#   * PostgreSQL (the system cluster, newest major, "main") answering on
#     127.0.0.1:5432, with the 'postgres' role usable over TCP without a
#     password (trust on loopback, local development / CI only);
#   * Mosquitto answering on 127.0.0.1:1883.
#
# Idempotent and cheap: when everything is already up it only probes and
# prints "[services] ... is up".  It never installs anything -- that is
# scripts/setup-system.sh's job (which also calls this script at its end).
#
# Why not systemctl/service: the dev and CI machines run without systemd, so
# the daemons are started directly (pg_ctlcluster --skip-systemctl-redirect,
# mosquitto -d).  Run as root.  See scripts/lib.sh for the tunables
# (ELDERCARE_PG_PORT, ELDERCARE_MQTT_PORT, ELDERCARE_WAIT_SECS, ...).
set -euo pipefail

# shellcheck disable=SC2034  # read by lib.sh's log()/die()
LOG_PREFIX=services
# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

require_root

HBA_MARK_BEGIN="# >>> eldercare local-dev trust (added by scripts/ensure-services.sh) >>>"
HBA_MARK_END="# <<< eldercare local-dev trust <<<"

# pg_tcp_login_check -- can role postgres log in over TCP with no password?
# -w never prompts, and we blank PGPASSWORD/.pgpass so a password lying
# around in the caller's environment cannot mask a non-trust pg_hba.
# Prints psql's error text on failure.
pg_tcp_login_check() {
    # shellcheck disable=SC2069  # on purpose: capture stderr, drop stdout
    env -u PGPASSWORD PGPASSFILE=/nonexistent/eldercare-no-pgpass \
        psql -X -w -At -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres \
             -c 'select 1' 2>&1 >/dev/null
}

# ensure_pg_trust -- a fresh Debian cluster authenticates host connections
# with scram-sha-256, and the postgres role has no password, so the
# project's "postgresql://postgres@127.0.0.1:5432/..." URLs cannot log in.
# Put loopback trust rules at the TOP of pg_hba.conf (first match wins) inside
# a marked block, so the edit is detectable, idempotent and easy to remove.
# The rules cover all roles, like the CI machines' own configuration, so
# roles the tests create behave the same here as there.
ensure_pg_trust() {
    local err hba
    if err="$(pg_tcp_login_check)"; then
        log "role postgres can log in over TCP at $PG_HOST:$PG_PORT without a password"
        return 0
    fi
    if ! grep -Eqi 'password|authentication|pg_hba' <<<"$err"; then
        die "cannot connect as postgres to $PG_HOST:$PG_PORT: $err"
    fi
    log "TCP login as postgres needs a password: $(grep -m1 -E 'FATAL|failed|no password' <<<"$err" || head -1 <<<"$err")"

    # Ask the server which pg_hba it actually uses (over the unix socket,
    # which Debian allows to the postgres OS user via peer auth).
    hba="$(pg_local_psql -c 'SHOW hba_file' 2>/dev/null || true)"
    [[ -n "$hba" ]] || hba="$PG_CONF_DIR/pg_hba.conf"
    [[ -w "$hba" ]] || die "pg_hba file $hba not writable"

    if grep -qF "$HBA_MARK_BEGIN" "$hba"; then
        die "$hba already has the eldercare trust block but login still fails: $err"
    fi
    # Keep the pristine file once, so the change can be undone by hand.
    [[ -e "$hba.eldercare.orig" ]] || cp -p "$hba" "$hba.eldercare.orig"

    log "adding loopback trust rules at the top of $hba (backup: $hba.eldercare.orig)"
    local tmp
    tmp="$(mktemp "$hba.XXXXXX")"
    # Insert the block before the first non-comment, non-blank line (the
    # first rule); if the file has no rules at all, append it.
    awk -v b="$HBA_MARK_BEGIN" -v e="$HBA_MARK_END" '
        function block() {
            print b
            print "# Local development / CI only: any role may connect over loopback TCP"
            print "# without a password.  Delete this block to restore password auth."
            print "host    all             all             127.0.0.1/32            trust"
            print "host    all             all             ::1/128                 trust"
            print e
            print ""
            done = 1
        }
        !done && $0 !~ /^[[:space:]]*(#|$)/ { block() }
        { print }
        END { if (!done) block() }
    ' "$hba" >"$tmp"
    chown --reference="$hba" "$tmp"
    chmod --reference="$hba" "$tmp"
    mv "$tmp" "$hba"

    pg_ctl_cluster reload || die "pg_ctlcluster $PG_MAJOR $PG_CLUSTER reload failed"
    # reload is asynchronous (SIGHUP): poll briefly for the new rules.
    if ! wait_until 10 "trust login as postgres" pg_tcp_login_check; then
        die "TCP login as postgres still fails after adding trust rules: $(pg_tcp_login_check || true)"
    fi
    log "role postgres can now log in over TCP at $PG_HOST:$PG_PORT without a password"
}

pg_ensure_running
ensure_pg_trust
mqtt_ensure_running

# Informational MQTT-level check: $SYS/broker/version is a retained topic,
# so a real subscribe answers at once if anonymous clients may connect.
if command -v mosquitto_sub >/dev/null; then
    # shellcheck disable=SC2016  # '$SYS' is a literal MQTT topic, not a variable
    if ver="$(mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t '$SYS/broker/version' -C 1 -W 3 2>/dev/null)"; then
        log "MQTT subscribe OK ($ver)"
    else
        warn "TCP port $MQTT_PORT is open but an anonymous MQTT subscribe did not answer within 3s"
    fi
fi

log "all services are up (PostgreSQL $PG_MAJOR/$PG_CLUSTER on $PG_HOST:$PG_PORT, Mosquitto on $MQTT_HOST:$MQTT_PORT)"
