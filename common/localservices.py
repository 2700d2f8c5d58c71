"""Start our own Mosquitto (and, for the demo, our own PostgreSQL) on free loopback ports.

Tests, benchmarks and the demo never depend on how the machine's shared broker is configured: mosquitto's
defaults (``max_inflight_messages 20``, ``max_queued_messages 1000``) would cap our batches and silently drop
messages queued for an offline persistent session — exactly what the loss-free guarantee must not meet.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO_BINARIES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class ServiceError(RuntimeError):
    """A local service could not be started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise ServiceError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next((p for p in MOSQUITTO_BINARIES if os.path.exists(p)), None)
    if not found:
        raise ServiceError("mosquitto is not installed: run scripts/setup-system.sh (apt-get install mosquitto)")
    return found


@dataclass
class Mosquitto:
    host: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def mosquitto_config(
    workdir: Path,
    port: int,
    *,
    password_file: Path | None = None,
    acl_file: Path | None = None,
    persistence: bool = True,
) -> str:
    lines = [
        f"listener {port} 127.0.0.1",
        # A private broker runs as whoever started it: as root mosquitto would otherwise switch to the user
        # "mosquitto", who cannot reach files in the caller's private folders (pytest's tmp, .eldercare).
        *(["user root"] if os.geteuid() == 0 else []),
        # Per-client queue of QoS 1 messages while a persistent session is offline or not acknowledging:
        # unbounded here, so backpressure from the ingest worker never turns into loss.
        "max_queued_messages 0",
        "max_queued_bytes 0",
        # 0 = no limit; MQTT 5 clients then get what their Receive Maximum asks for.
        "max_inflight_messages 0",
        # Oversize payloads must reach the platform to be recorded as rejects (limit: ingest_max_payload_bytes).
        "max_packet_size 8388608",
        "persistent_client_expiration 14d",
        f"log_dest file {workdir / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]
    if persistence:
        lines += ["persistence true", f"persistence_location {workdir}/", "autosave_interval 60"]
    else:
        lines += ["persistence false"]
    if password_file is not None:
        lines += ["allow_anonymous false", f"password_file {password_file}"]
    else:
        lines += ["allow_anonymous true"]
    if acl_file is not None:
        lines += [f"acl_file {acl_file}"]
    return "\n".join(lines) + "\n"


def start_mosquitto(
    workdir: Path,
    *,
    port: int | None = None,
    password_file: Path | None = None,
    acl_file: Path | None = None,
    persistence: bool = True,
) -> Mosquitto:
    """Start a private Mosquitto with our configuration; the caller stops it (or use :func:`mosquitto`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        mosquitto_config(workdir, port, password_file=password_file, acl_file=acl_file, persistence=persistence)
    )
    proc = subprocess.Popen(
        [mosquitto_binary(), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for_port(port)
    except ServiceError:
        proc.kill()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        log = (workdir / "mosquitto.log").read_text(errors="replace") if (workdir / "mosquitto.log").exists() else ""
        raise ServiceError(f"mosquitto did not start on port {port}: {err} {log[-2000:]}") from None
    return Mosquitto(host="127.0.0.1", port=port, workdir=workdir, process=proc)


@contextlib.contextmanager
def mosquitto(workdir: Path, **kwargs: object) -> Iterator[Mosquitto]:
    broker = start_mosquitto(workdir, **kwargs)  # type: ignore[arg-type]
    try:
        yield broker
    finally:
        broker.stop()


# --- a project-local PostgreSQL (demo) -----------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Newest installed server binaries (Debian layout /usr/lib/postgresql/N/bin)."""
    root = Path("/usr/lib/postgresql")
    candidates = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name), reverse=True
    )
    if not candidates:
        raise ServiceError("PostgreSQL server binaries not found: run scripts/setup-system.sh")
    return candidates[0]


def _timescaledb_installed(bindir: Path) -> bool:
    major = bindir.parent.name
    return Path(f"/usr/share/postgresql/{major}/extension/timescaledb.control").exists()


@dataclass
class Postgres:
    datadir: Path
    port: int
    bindir: Path
    timescaledb: bool

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/eldercare"

    def stop(self) -> None:
        _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"], check=False)


def _as_postgres(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[bytes]:
    # The server refuses to run as root; Debian's package created the "postgres" user.
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=check, capture_output=True, cwd="/")


def postgres_can_use(directory: Path) -> bool:
    """Whether the server's user can reach ``directory`` (a checkout under /root or a 0700 temp dir cannot)."""
    if os.geteuid() != 0:
        return True
    probe = directory
    while not probe.exists():
        probe = probe.parent
    return _as_postgres(["test", "-x", str(probe)], check=False).returncode == 0


def postgres_datadir(preferred: Path) -> Path:
    """``preferred`` when the server's user can use it, else a folder of ours under /var/lib (said in logs)."""
    if postgres_can_use(preferred.parent):
        return preferred
    digest = hashlib.sha1(str(preferred.resolve()).encode()).hexdigest()[:10]
    return Path("/var/lib/eldercare") / f"demo-{digest}" / preferred.name


def start_postgres(datadir: Path, port: int | None = None) -> Postgres:
    """initdb (first time) and start a private cluster in ``datadir`` on a free loopback port."""
    bindir = postgres_bindir()
    tsdb = _timescaledb_installed(bindir)
    datadir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(datadir, user="postgres", group="postgres")
        datadir.chmod(0o700)
        if not postgres_can_use(datadir):
            raise ServiceError(f"user postgres cannot reach {datadir}: use postgres_datadir() to pick a folder")
    if not (datadir / "PG_VERSION").exists():
        res = _as_postgres(
            [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8"],
            check=False,
        )  # fmt: skip
        if res.returncode != 0:
            raise ServiceError(f"initdb failed: {res.stderr.decode(errors='replace')[-2000:]}")
    port = port or free_port()
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {datadir} -c max_connections=100"
    if tsdb:
        options += " -c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off"
    res = _as_postgres(
        [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(datadir / "server.log"), "-o", options, "-w",
         "-t", "60", "start"],
        check=False,
    )  # fmt: skip
    if res.returncode != 0:
        log_tail = (
            (datadir / "server.log").read_text(errors="replace")[-2000:] if (datadir / "server.log").exists() else ""
        )
        raise ServiceError(f"PostgreSQL did not start: {res.stderr.decode(errors='replace')} {log_tail}")
    wait_for_port(port)
    return Postgres(datadir=datadir, port=port, bindir=bindir, timescaledb=tsdb)
