# shellcheck shell=bash
# scripts/lib.sh -- shared helpers for the eldercare system scripts.
#
# Sourced (never executed) by scripts/setup-system.sh and
# scripts/ensure-services.sh, and usable by any other script that needs to
# find or start the system PostgreSQL cluster or the Mosquitto broker:
#
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#     pg_detect_cluster          # sets PG_MAJOR / PG_CLUSTER / PG_PORT ...
#     pg_ensure_running          # starts the cluster if it is down
#     mqtt_ensure_running        # starts mosquitto if it is down
#
# Everything here targets Debian's own packaging: postgresql-common's
# cluster layout (/etc/postgresql/<major>/<cluster>, pg_ctlcluster) and the
# mosquitto package's /etc/mosquitto/mosquitto.conf.  The machines this runs
# on (dev boxes, CI) have no systemd, so services are started directly
# (pg_ctlcluster --skip-systemctl-redirect, mosquitto -d), never via
# systemctl/service.
#
# Tunables (environment):
#   ELDERCARE_PG_MAJOR    force a PostgreSQL major (default: newest cluster)
#   ELDERCARE_PG_CLUSTER  cluster name                     (default: main)
#   ELDERCARE_PG_HOST     TCP host the project connects to (default: 127.0.0.1)
#   ELDERCARE_PG_PORT     TCP port the project connects to (default: 5432)
#   ELDERCARE_MQTT_HOST   broker host                      (default: 127.0.0.1)
#   ELDERCARE_MQTT_PORT   broker port                      (default: 1883)
#   ELDERCARE_MOSQUITTO_CONF  broker config (default: /etc/mosquitto/mosquitto.conf)
#   ELDERCARE_WAIT_SECS   how long to wait for a service   (default: 30)

# Guard against double sourcing (both scripts may source us).
if [[ -n "${_ELDERCARE_LIB_SOURCED:-}" ]]; then
    return 0
fi
_ELDERCARE_LIB_SOURCED=1

# Every line we print carries a prefix so the output of nested scripts
# (setup-system.sh runs ensure-services.sh) stays attributable.
: "${LOG_PREFIX:=eldercare}"

PG_CLUSTER="${ELDERCARE_PG_CLUSTER:-main}"
PG_HOST="${ELDERCARE_PG_HOST:-127.0.0.1}"
PG_PORT="${ELDERCARE_PG_PORT:-5432}"
MQTT_HOST="${ELDERCARE_MQTT_HOST:-127.0.0.1}"
MQTT_PORT="${ELDERCARE_MQTT_PORT:-1883}"
MOSQUITTO_CONF="${ELDERCARE_MOSQUITTO_CONF:-/etc/mosquitto/mosquitto.conf}"
WAIT_SECS="${ELDERCARE_WAIT_SECS:-30}"

log()  { printf '[%s] %s\n' "$LOG_PREFIX" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$LOG_PREFIX" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$LOG_PREFIX" "$*" >&2; exit 1; }

require_root() {
    # apt-get, pg_ctlcluster and writing /etc all need root; fail early and
    # clearly rather than halfway through with a permission error.
    [[ "$(id -u)" -eq 0 ]] || die "must run as root (try: sudo $0)"
}

# wait_until SECONDS DESCRIPTION CMD...  -- poll CMD once a second.
wait_until() {
    local secs="$1" what="$2"; shift 2
    local i
    for ((i = 0; i < secs; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    warn "$what did not come up within ${secs}s"
    return 1
}

# ---------------------------------------------------------------- Debian/apt

# os_release_field KEY -> value from /etc/os-release (e.g. VERSION_ID, VERSION_CODENAME)
os_release_field() {
    sed -n "s/^$1=//p" /etc/os-release 2>/dev/null | tr -d '"' | head -1
}

# pkg_installed PKG -> 0 when dpkg says the package is fully installed.
pkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == "installed" ]]
}

# apt_update_once -- 'apt-get update' at most once per script run, and only
# when a caller actually needs to install something (it is slow, and a run
# where everything is already present must not touch the network).
_APT_UPDATED=0
apt_update_once() {
    if [[ "$_APT_UPDATED" -eq 0 ]]; then
        log "apt-get update ..."
        DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            || die "apt-get update failed"
        _APT_UPDATED=1
    fi
}

# apt_install PKG... -- non-interactive, no recommends (keeps the footprint
# small and avoids pulling services we do not want).
# dpkg's chatter goes to a log file and is only shown when the install fails.
APT_LOG="${ELDERCARE_APT_LOG:-/var/log/eldercare-setup-apt.log}"
apt_install() {
    apt_update_once
    log "apt-get install $* (output: $APT_LOG)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
            >>"$APT_LOG" 2>&1; then
        tail -n 30 "$APT_LOG" >&2
        die "apt-get install $* failed (full output: $APT_LOG)"
    fi
}

# apt_candidate PKG -> candidate version ('' when apt knows no such package).
apt_candidate() {
    local v
    v="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
    [[ "$v" == "(none)" ]] && v=""
    printf '%s' "$v"
}

# ---------------------------------------------------------------- PostgreSQL

# pg_detect_cluster -- decide which cluster "the system PostgreSQL" is.
# Sets PG_MAJOR, PG_CLUSTER (from env/default), PG_CONF_DIR, PG_BINDIR.
# Rule: the newest major that has a cluster config dir in /etc/postgresql;
# if none exists yet (fresh install with create_main_cluster=false), the
# newest installed server binary.  ELDERCARE_PG_MAJOR overrides both.
pg_detect_cluster() {
    PG_MAJOR="${ELDERCARE_PG_MAJOR:-}"
    if [[ -z "$PG_MAJOR" && -d /etc/postgresql ]]; then
        PG_MAJOR="$(find /etc/postgresql -mindepth 2 -maxdepth 2 -name "$PG_CLUSTER" -type d \
                    -printf '%h\n' 2>/dev/null | xargs -r -n1 basename | sort -V | tail -1)"
    fi
    if [[ -z "$PG_MAJOR" ]]; then
        PG_MAJOR="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' \
                    2>/dev/null | while read -r v; do
                        [[ -x "/usr/lib/postgresql/$v/bin/postgres" ]] && echo "$v"
                    done | sort -V | tail -1)"
    fi
    [[ -n "$PG_MAJOR" ]] || return 1
    PG_CONF_DIR="/etc/postgresql/$PG_MAJOR/$PG_CLUSTER"
    # shellcheck disable=SC2034  # for callers (setup-system.sh: pg_config)
    PG_BINDIR="/usr/lib/postgresql/$PG_MAJOR/bin"
    return 0
}

# pg_cluster_port -- the port the cluster itself is configured for (used for
# the unix-socket connections below, which must reach the right cluster even
# when TCP is not yet usable).
pg_cluster_port() {
    pg_conftool -s "$PG_MAJOR" "$PG_CLUSTER" show port 2>/dev/null || echo "$PG_PORT"
}

pg_cluster_exists() { [[ -f "$PG_CONF_DIR/postgresql.conf" ]]; }

# pg_cluster_running -- pg_ctlcluster status: 0 running, 3 stopped, 4 no cluster.
pg_cluster_running() {
    pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" status >/dev/null 2>&1
}

# pg_tcp_ready -- what the project's code actually needs: the server answering
# on 127.0.0.1:5432 (pg_isready does not authenticate, so this works even
# before pg_hba has been fixed).
pg_tcp_ready() {
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
}

# pg_local_psql ARGS... -- psql as the postgres OS user over the unix socket.
# Debian's default pg_hba has 'local all postgres peer', so this works on a
# fresh install where TCP connections still want a password.
pg_local_psql() {
    # client_min_messages: keep NOTICEs ("... does not exist, skipping") out
    # of the scripts' output; real errors still fail via ON_ERROR_STOP.
    PGOPTIONS='-c client_min_messages=warning' runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -At \
        -h /var/run/postgresql -p "$(pg_cluster_port)" -d postgres "$@"
}

# pg_ctl_cluster ACTION -- start/stop/restart/reload without systemd.
pg_ctl_cluster() {
    pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" "$1"
}

pg_log_tail() {
    local f="/var/log/postgresql/postgresql-$PG_MAJOR-$PG_CLUSTER.log"
    [[ -r "$f" ]] && { echo "---- last lines of $f ----" >&2; tail -n 25 "$f" >&2; }
    return 0
}

# pg_ensure_running -- start the cluster if needed and wait until it answers
# on the project's TCP address.  Dies on failure.
pg_ensure_running() {
    command -v pg_ctlcluster >/dev/null || die "postgresql-common is not installed (run scripts/setup-system.sh)"
    command -v pg_isready   >/dev/null || die "PostgreSQL client tools are missing (run scripts/setup-system.sh)"
    pg_detect_cluster || die "no PostgreSQL server installed (run scripts/setup-system.sh)"
    pg_cluster_exists || die "cluster $PG_MAJOR/$PG_CLUSTER does not exist (run scripts/setup-system.sh)"
    # If the cluster we manage is configured for another port, whatever
    # answers on PG_PORT is some other server (e.g. a second major) -- say
    # so instead of probing, configuring and restarting the wrong one.
    local cport
    cport="$(pg_cluster_port)"
    if [[ "$cport" != "$PG_PORT" ]]; then
        die "cluster $PG_MAJOR/$PG_CLUSTER is configured for port $cport, but the project expects $PG_PORT (set ELDERCARE_PG_PORT=$cport, pick another cluster with ELDERCARE_PG_MAJOR/ELDERCARE_PG_CLUSTER, or change 'port' in $PG_CONF_DIR/postgresql.conf)"
    fi

    if pg_tcp_ready; then
        log "PostgreSQL $PG_MAJOR/$PG_CLUSTER is up on $PG_HOST:$PG_PORT"
        return 0
    fi
    if pg_cluster_running; then
        # Running but not (yet) answering on TCP: it may be starting up, or
        # it may listen on another address/port -- give it the usual grace.
        log "PostgreSQL $PG_MAJOR/$PG_CLUSTER is running but not answering on $PG_HOST:$PG_PORT yet; waiting"
    else
        log "PostgreSQL $PG_MAJOR/$PG_CLUSTER is stopped; starting it"
        # pg_ctlcluster recreates /var/run/postgresql itself (it is a tmpfs
        # after a reboot and nothing else creates it without systemd).
        if ! pg_ctl_cluster start; then
            pg_log_tail
            die "pg_ctlcluster $PG_MAJOR $PG_CLUSTER start failed"
        fi
    fi
    if ! wait_until "$WAIT_SECS" "PostgreSQL on $PG_HOST:$PG_PORT" pg_tcp_ready; then
        pg_log_tail
        die "PostgreSQL $PG_MAJOR/$PG_CLUSTER is not accepting connections on $PG_HOST:$PG_PORT (check listen_addresses/port in $PG_CONF_DIR)"
    fi
    log "PostgreSQL $PG_MAJOR/$PG_CLUSTER is up on $PG_HOST:$PG_PORT"
}

# ---------------------------------------------------------------- Mosquitto

# mqtt_tcp_ready -- plain TCP connect probe via bash's /dev/tcp: no client
# tools needed, and it does not depend on $SYS topics or ACLs.
mqtt_tcp_ready() {
    timeout 2 bash -c ": </dev/tcp/$MQTT_HOST/$MQTT_PORT" 2>/dev/null
}

# mqtt_ensure_running -- start mosquitto as a daemon if nothing listens on
# the broker port and wait for it.  Dies on failure.
mqtt_ensure_running() {
    if mqtt_tcp_ready; then
        log "Mosquitto is up on $MQTT_HOST:$MQTT_PORT"
        return 0
    fi
    command -v mosquitto >/dev/null || die "mosquitto is not installed (run scripts/setup-system.sh)"
    [[ -r "$MOSQUITTO_CONF" ]] || die "mosquitto config $MOSQUITTO_CONF not found"
    log "Mosquitto is not answering on $MQTT_HOST:$MQTT_PORT; starting it"
    # Debian's config writes its pid to /run/mosquitto and logs to
    # /var/log/mosquitto after dropping to the 'mosquitto' user; without
    # systemd nobody recreates /run/mosquitto after a reboot, and a missing
    # dir makes the daemon exit at once.
    if id mosquitto >/dev/null 2>&1; then
        install -d -m 0755 -o mosquitto -g mosquitto /run/mosquitto
        install -d -m 0755 -o mosquitto -g mosquitto /var/log/mosquitto /var/lib/mosquitto
    fi
    mosquitto -d -c "$MOSQUITTO_CONF" || die "mosquitto -d -c $MOSQUITTO_CONF failed"
    if ! wait_until "$WAIT_SECS" "Mosquitto on $MQTT_HOST:$MQTT_PORT" mqtt_tcp_ready; then
        [[ -r /var/log/mosquitto/mosquitto.log ]] && tail -n 15 /var/log/mosquitto/mosquitto.log >&2
        die "Mosquitto is not accepting connections on $MQTT_HOST:$MQTT_PORT (is a listener for it configured in $MOSQUITTO_CONF?)"
    fi
    log "Mosquitto is up on $MQTT_HOST:$MQTT_PORT"
}
