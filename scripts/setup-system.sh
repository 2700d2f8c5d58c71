#!/usr/bin/env bash
# scripts/setup-system.sh -- install the system services the eldercare
# platform needs on a Debian 12 (bookworm) or Debian 13 (trixie) machine:
#
#   * PostgreSQL server + client (Debian's packages, whatever major the
#     release ships: 15 on bookworm, 17 on trixie)
#   * Mosquitto broker + mosquitto-clients
#   * python3-venv, only if `python3 -m venv` does not work
#   * TimescaleDB (see DESIGN.md section 4):
#       - trixie:   Debian's binary package postgresql-<major>-timescaledb
#       - bookworm: no binary package exists, so we build Debian's own source
#                   package `timescaledb` (from trixie) against the installed
#                   PostgreSQL with cmake -DAPACHE_ONLY=1 and `make install`
#     then preload it (shared_preload_libraries) and restart the cluster.
#
# It finishes by running scripts/ensure-services.sh, so afterwards both
# services are running and postgres@127.0.0.1:5432 works without a password.
#
# Idempotent: every step checks first and does nothing when the thing is
# already there; a second run is a quick no-op that reports what it found.
# apt-get update runs at most once, and only if something must be installed.
#
# Usage (as root):   scripts/setup-system.sh
# Environment:
#   ELDERCARE_SKIP_TIMESCALEDB=1   skip everything TimescaleDB-related
#   ELDERCARE_TSDB_SRC_SUITE       Debian suite to take the timescaledb source
#                                  package from when building (default: trixie)
#   ELDERCARE_DEBIAN_MIRROR        mirror for that deb-src line (default: the
#                                  mirror the machine's existing sources use)
#   ELDERCARE_BUILD_DIR            build directory (default:
#                                  /var/cache/eldercare/timescaledb-build)
#   plus the PostgreSQL/Mosquitto tunables documented in scripts/lib.sh.
set -euo pipefail

# shellcheck disable=SC2034  # read by lib.sh's log()/die()
LOG_PREFIX=setup
SCRIPT_DIR="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
# shellcheck source=lib.sh
source "$SCRIPT_DIR/lib.sh"

TSDB_SRC_SUITE="${ELDERCARE_TSDB_SRC_SUITE:-trixie}"
BUILD_DIR="${ELDERCARE_BUILD_DIR:-/var/cache/eldercare/timescaledb-build}"
SRC_LIST=/etc/apt/sources.list.d/eldercare-${TSDB_SRC_SUITE}-src.list
# Our settings go last in conf.d (files are read in name order, later wins),
# so that nothing in an earlier file silently overrides the preload.
TSDB_CONF_NAME=99-eldercare-timescaledb.conf

require_root
[[ -r /etc/debian_version ]] || die "this script supports Debian (12 bookworm / 13 trixie) only"
DEB_VERSION_ID="$(os_release_field VERSION_ID)"
DEB_CODENAME="$(os_release_field VERSION_CODENAME)"
log "host: Debian ${DEB_VERSION_ID:-?} (${DEB_CODENAME:-unknown})"

# ============================================================== 1. packages

# Collect everything missing first, so one apt-get update + one install does it.
missing=()

# PostgreSQL server: any Debian postgresql-<major> server package counts (the
# 'postgresql' metapackage just selects the release's default major).
if compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    log "PostgreSQL server found: $(printf '%s\n' /usr/lib/postgresql/*/bin/postgres | sed 's#/usr/lib/postgresql/##; s#/bin/postgres##' | sort -V | paste -sd' ')"
else
    missing+=(postgresql)
fi
# Client tools: psql + pg_isready (ensure-services.sh and the tests use them).
if command -v psql >/dev/null && command -v pg_isready >/dev/null; then
    log "PostgreSQL client found: $(psql --version)"
else
    missing+=(postgresql-client)
fi
if command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]]; then
    log "Mosquitto broker found"
else
    missing+=(mosquitto)
fi
if command -v mosquitto_sub >/dev/null && command -v mosquitto_pub >/dev/null; then
    log "mosquitto-clients found"
else
    missing+=(mosquitto-clients)
fi

# `python3 -m venv` fails on Debian without python3-venv: Debian moves the
# ensurepip module (which seeds pip into a new venv) and the pip wheel it
# installs into python3.X-venv / python3-pip-whl.  So "venv usable" means:
# venv and ensurepip import, and ensurepip finds its bundled pip wheel.
# (Cheap; creating a throwaway venv would prove the same but takes ~7 s.)
venv_usable() {
    python3 -c 'import sys, venv, ensurepip; sys.exit(0 if ensurepip.version() else 1)' >/dev/null 2>&1
}
if ! command -v python3 >/dev/null; then
    die "python3 is not installed (the project needs Python 3.11+)"
elif venv_usable; then
    log "python3 -m venv usable ($(python3 --version 2>&1), bundled pip $(python3 -c 'import ensurepip; print(ensurepip.version())'))"
else
    missing+=(python3-venv)
fi

if ((${#missing[@]})); then
    apt_install "${missing[@]}"
else
    log "all base packages present; nothing to install"
fi

if [[ " ${missing[*]} " == *" python3-venv "* ]]; then
    # Prove it for real once, right after installing.
    venv_tmp="$(mktemp -d)"
    python3 -m venv "$venv_tmp/venv" >/dev/null 2>&1 \
        || die "python3 -m venv still fails after installing python3-venv (is 'python3' Debian's python? $(command -v python3))"
    rm -rf "$venv_tmp"
fi

# ======================================================= 2. the PG cluster

pg_detect_cluster || die "no PostgreSQL server found after installation"
if ! pg_cluster_exists; then
    # The package normally creates '<major> main'; it does not when
    # create_main_cluster=false in /etc/postgresql-common/createcluster.conf.
    log "creating cluster $PG_MAJOR/$PG_CLUSTER"
    pg_createcluster "$PG_MAJOR" "$PG_CLUSTER" --port "$PG_PORT" \
        || die "pg_createcluster $PG_MAJOR $PG_CLUSTER failed"
fi
log "system cluster: $PG_MAJOR/$PG_CLUSTER ($PG_CONF_DIR)"
# apt does not start it here (no systemd / policy-rc.d), and the checks below
# query the running server.
pg_ensure_running

# ======================================================== 3. TimescaleDB

# tsdb_available / tsdb_preloaded -- exactly what the brief and the
# migrations rely on: the server lists the extension, and loads it at start.
tsdb_available() {
    [[ "$(pg_local_psql -c "SELECT 1 FROM pg_available_extensions WHERE name='timescaledb'")" == 1 ]]
}
tsdb_preloaded() {
    local spl
    spl="$(pg_local_psql -c 'SHOW shared_preload_libraries')"
    [[ ",${spl// /}," == *",timescaledb,"* ]]
}

# debian_mirror -- the Debian archive URL the machine already uses (so the
# deb-src line goes through the same, reachable, mirror).  Looks at both
# one-line *.list files and deb822 *.sources files; skips the security
# archive; falls back to deb.debian.org.
debian_mirror() {
    if [[ -n "${ELDERCARE_DEBIAN_MIRROR:-}" ]]; then
        printf '%s' "${ELDERCARE_DEBIAN_MIRROR%/}"; return
    fi
    local url
    url="$(
        {
            # one-line format: deb [opts] URL suite comps...
            cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                | sed -E 's/\[[^]]*\]//' \
                | awk '$1 ~ /^deb(-src)?$/ {print $2}'
            # deb822 format: URIs: URL [URL...]
            cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
                | awk 'tolower($1) == "uris:" {for (i = 2; i <= NF; i++) print $i}'
        } | grep -E '^(https?|mirror\+https?)://[^ ]+/debian/?$' | grep -v -- '-security' | head -1
    )"
    printf '%s' "${url:-http://deb.debian.org/debian}" | sed 's#/$##'
}

# ensure_src_list -- a deb-src-only entry for the source suite.  Only
# sources (no 'deb' line), so no binary from the newer release can ever be
# installed or upgraded through it.
ensure_src_list() {
    local mirror keyring opts="" line wrote=0
    mirror="$(debian_mirror)"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [[ -r "$keyring" ]] && opts="[signed-by=$keyring] "
    line="deb-src ${opts}${mirror} ${TSDB_SRC_SUITE} main"
    if [[ -f "$SRC_LIST" ]] && grep -qxF "$line" "$SRC_LIST"; then
        log "deb-src entry present: $SRC_LIST"
    else
        log "writing $SRC_LIST: $line"
        printf '# Added by eldercare scripts/setup-system.sh: source packages only, used to\n# build TimescaleDB (not packaged for this release). Safe to delete afterwards.\n%s\n' \
            "$line" >"$SRC_LIST"
        wrote=1
    fi
    # Refresh only this one source (not the whole machine's lists) when its
    # Sources index is missing or the file was just (re)written.
    # List-Cleanup=0 keeps apt from discarding the other lists.
    if ((wrote)) \
       || ! compgen -G "/var/lib/apt/lists/*_dists_${TSDB_SRC_SUITE}_main_source_Sources*" >/dev/null; then
        log "apt-get update (only $SRC_LIST) ..."
        apt-get update -qq -o Dir::Etc::SourceList="$SRC_LIST" -o Dir::Etc::SourceParts=- \
            -o APT::Get::List-Cleanup=0 || die "apt-get update for $SRC_LIST failed"
    fi
}

# ensure_server_dev -- headers + pg_config for the installed major, pinned
# to the server's exact version: the dev package has no versioned dependency
# on the server, and pinning keeps apt from pulling/upgrading anything that
# would restart or change the server.  If the archive no longer carries that
# exact version (security updates replace it), fall back to the candidate:
# the server ABI is stable within a major, so the extension still loads.
ensure_server_dev() {
    local dev="postgresql-server-dev-$PG_MAJOR" srv="postgresql-$PG_MAJOR" want have
    want="$(dpkg-query -W -f='${Version}' "$srv" 2>/dev/null || true)"
    if pkg_installed "$dev"; then
        have="$(dpkg-query -W -f='${Version}' "$dev")"
        log "$dev $have installed (server $srv ${want:-?})"
        return
    fi
    apt_update_once
    if [[ -n "$want" ]] && apt-cache madison "$dev" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qxF "$want"; then
        apt_install "$dev=$want"
    else
        warn "$dev=$want is not in the archive any more; installing the candidate $(apt_candidate "$dev") (same major, ABI-compatible)"
        apt_install "$dev"
    fi
    [[ "$(dpkg-query -W -f='${Version}' "$srv" 2>/dev/null || true)" == "$want" ]] \
        || warn "$srv changed version while installing $dev (was $want)"
}

# build_tsdb_from_source -- Debian's timescaledb source package, Apache-only
# (the +dfsg tarball has the Timescale-licensed tsl/ tree removed).
build_tsdb_from_source() {
    local t0=$SECONDS t1 src builddir blog

    # Build tools.  dpkg-dev provides dpkg-source, which `apt-get source`
    # needs to unpack; libssl-dev because Debian's PostgreSQL is built with
    # OpenSSL, so TimescaleDB (USE_OPENSSL, on by default) compiles its
    # network code against the OpenSSL headers.
    local tools=() p
    for p in dpkg-dev cmake gcc make libssl-dev; do
        pkg_installed "$p" || tools+=("$p")
    done
    if ((${#tools[@]})); then
        apt_install "${tools[@]}"
    fi
    ensure_server_dev

    ensure_src_list
    install -d -m 0755 "$BUILD_DIR"
    # Reuse an already unpacked tree from an earlier (interrupted) run.
    src="$(find "$BUILD_DIR" -mindepth 1 -maxdepth 1 -type d -name 'timescaledb-*' | sort -V | tail -1)"
    if [[ -z "$src" || ! -f "$src/CMakeLists.txt" ]]; then
        log "fetching source package timescaledb/$TSDB_SRC_SUITE into $BUILD_DIR"
        # Running as root: apt warns that the download is 'unsandboxed' unless
        # the _apt user can write the directory, so let it.
        id _apt >/dev/null 2>&1 && chown _apt:root "$BUILD_DIR"
        (cd "$BUILD_DIR" && apt-get source -qq "timescaledb/$TSDB_SRC_SUITE") \
            || die "apt-get source timescaledb/$TSDB_SRC_SUITE failed"
        src="$(find "$BUILD_DIR" -mindepth 1 -maxdepth 1 -type d -name 'timescaledb-*' | sort -V | tail -1)"
        [[ -n "$src" && -f "$src/CMakeLists.txt" ]] || die "no unpacked timescaledb source in $BUILD_DIR"
    fi
    log "source tree: $src"

    builddir="$src/build-pg$PG_MAJOR"
    blog="$BUILD_DIR/build-pg$PG_MAJOR.log"
    log "configuring (cmake, Apache-only, tests off) -- log: $blog"
    t1=$SECONDS
    # Same flags as Debian's own debian/rules (so the result matches the
    # trixie binary package), plus the ones that keep the build lean:
    #   APACHE_ONLY=1            the +dfsg source has no tsl/ directory
    #   USE_TELEMETRY/SEND_TELEMETRY_DEFAULT=OFF  no phoning home (Debian does
    #                            the same; the conf line below is then inert)
    #   REGRESS_CHECKS/TAP_CHECKS=OFF  no test tooling (pg_regress, perl) needed
    #   WARNINGS_AS_ERRORS=OFF   a gcc other than upstream's must not fail it
    #   LINTER=OFF               no clang-tidy needed
    if ! cmake -S "$src" -B "$builddir" \
            -DPG_CONFIG="$PG_BINDIR/pg_config" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DAPACHE_ONLY=1 \
            -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
            -DWARNINGS_AS_ERRORS=OFF -DLINTER=OFF \
            -DUSE_TELEMETRY=OFF -DSEND_TELEMETRY_DEFAULT=OFF \
            >"$blog" 2>&1; then
        tail -n 30 "$blog" >&2
        die "cmake configure failed (full log: $blog)"
    fi
    log "building (make -j$(nproc)) ..."
    if ! make -C "$builddir" -j"$(nproc)" >>"$blog" 2>&1; then
        tail -n 30 "$blog" >&2
        die "timescaledb build failed (full log: $blog)"
    fi
    # Installs into the server's pkglibdir/sharedir (/usr/lib/postgresql/<major>/lib,
    # /usr/share/postgresql/<major>/extension); these files are not owned by
    # any package.
    if ! make -C "$builddir" install >>"$blog" 2>&1; then
        tail -n 30 "$blog" >&2
        die "make install failed (full log: $blog)"
    fi
    log "built and installed TimescaleDB from $(basename "$src"): configure+build+install took $((SECONDS - t1))s ($((SECONDS - t0))s including build deps and source download)"
}

# install_tsdb -- binary package where Debian has one (trixie: 
# postgresql-17-timescaledb), otherwise the source build.
install_tsdb() {
    local binpkg="postgresql-$PG_MAJOR-timescaledb"
    if pkg_installed "$binpkg"; then
        die "$binpkg is installed but the server does not list timescaledb -- broken install? (try: apt-get install --reinstall $binpkg)"
    fi
    # Bookworm has no such package at all: do not spend an apt-get update
    # just to learn that.
    if [[ "$DEB_VERSION_ID" != 12 ]]; then
        [[ -n "$(apt_candidate "$binpkg")" ]] || apt_update_once
        if [[ -n "$(apt_candidate "$binpkg")" ]]; then
            apt_install "$binpkg"
            return
        fi
        log "no binary package $binpkg on this release; building from source"
    fi
    build_tsdb_from_source
}

# configure_tsdb -- preload the library (required: TimescaleDB refuses to
# work otherwise) and switch telemetry off, via a conf.d drop-in so Debian's
# postgresql.conf stays untouched.  Keeps any libraries already preloaded.
configure_tsdb() {
    local spl new conf
    spl="$(pg_local_psql -c 'SHOW shared_preload_libraries')"
    spl="${spl// /}"
    new="timescaledb${spl:+,$spl}"
    # Debian's postgresql.conf ends with include_dir = 'conf.d' (the
    # postgresql-common default); if someone removed it, a drop-in would be
    # ignored, so use ALTER SYSTEM (postgresql.auto.conf) instead.
    if grep -Eq "^[[:space:]]*include_dir[[:space:]]*=?[[:space:]]*'conf\.d'" "$PG_CONF_DIR/postgresql.conf"; then
        conf="$PG_CONF_DIR/conf.d/$TSDB_CONF_NAME"
        install -d -o postgres -g postgres -m 0755 "$PG_CONF_DIR/conf.d"
        log "writing $conf (shared_preload_libraries = '$new')"
        cat >"$conf" <<EOF
# Added by eldercare scripts/setup-system.sh -- TimescaleDB must be preloaded.
shared_preload_libraries = '$new'
# Never send telemetry to Timescale from dev/CI machines.
timescaledb.telemetry_level = off
EOF
        chown postgres:postgres "$conf"
        chmod 0644 "$conf"
    else
        warn "include_dir 'conf.d' is not enabled in $PG_CONF_DIR/postgresql.conf; using ALTER SYSTEM"
        pg_local_psql -c "ALTER SYSTEM SET shared_preload_libraries = '$new'" \
            -c "ALTER SYSTEM SET timescaledb.telemetry_level = 'off'" \
            || die "ALTER SYSTEM failed"
    fi

    log "restarting PostgreSQL $PG_MAJOR/$PG_CLUSTER to load timescaledb"
    if ! pg_ctl_cluster restart || ! wait_until "$WAIT_SECS" "PostgreSQL after restart" pg_tcp_ready; then
        pg_log_tail
        # Do not leave the machine with a server that cannot start: take our
        # drop-in back out and start it again without the preload.
        if [[ -f "$PG_CONF_DIR/conf.d/$TSDB_CONF_NAME" ]]; then
            warn "rolling back $PG_CONF_DIR/conf.d/$TSDB_CONF_NAME"
            rm -f "$PG_CONF_DIR/conf.d/$TSDB_CONF_NAME"
            pg_ctl_cluster start || true
        fi
        die "PostgreSQL did not come back with timescaledb preloaded"
    fi
    tsdb_preloaded || die "shared_preload_libraries still lacks timescaledb after restart; something later in the config (postgresql.auto.conf?) overrides it: $(pg_local_psql -c "SELECT sourcefile||':'||sourceline FROM pg_file_settings WHERE name='shared_preload_libraries' AND applied")"
}

# verify_tsdb -- CREATE EXTENSION in a throwaway database (so the real
# databases are left untouched) and report version and licence.
verify_tsdb() {
    local db=eldercare_tsdb_probe out
    pg_local_psql -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null \
        || die "could not create probe database $db"
    if ! out="$(runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -At -F ' ' \
            -h /var/run/postgresql -p "$(pg_cluster_port)" -d "$db" \
            -c 'CREATE EXTENSION timescaledb' \
            -c "SELECT extversion, current_setting('timescaledb.license') FROM pg_extension WHERE extname='timescaledb'" 2>&1)"; then
        pg_local_psql -c "DROP DATABASE IF EXISTS $db" >/dev/null || true
        die "CREATE EXTENSION timescaledb failed: $out"
    fi
    pg_local_psql -c "DROP DATABASE $db" >/dev/null || warn "could not drop probe database $db"
    # shellcheck disable=SC2086
    set -- $out
    log "TimescaleDB OK: CREATE EXTENSION works; version $1, license '$2'"
}

if [[ "${ELDERCARE_SKIP_TIMESCALEDB:-0}" == 1 ]]; then
    log "ELDERCARE_SKIP_TIMESCALEDB=1: skipping TimescaleDB"
else
    if tsdb_available && tsdb_preloaded; then
        # (timescaledb.license only exists in a database where the extension
        # is created, so report the packaged version here.)
        log "TimescaleDB already available and preloaded; nothing to do (version $(pg_local_psql -c "SELECT default_version FROM pg_available_extensions WHERE name='timescaledb'"))"
    else
        if tsdb_available; then
            log "TimescaleDB is installed but not preloaded"
        else
            log "TimescaleDB is not available to PostgreSQL $PG_MAJOR; installing it"
            install_tsdb
            tsdb_available || die "timescaledb still not in pg_available_extensions after installing"
        fi
        configure_tsdb
        verify_tsdb
    fi
fi

# ========================================================== 4. services up

# Leave the machine ready to use: both services running, postgres reachable
# over TCP without a password.
log "running ensure-services.sh"
"$SCRIPT_DIR/ensure-services.sh"
log "done"
