"""README command 1 in miniature: `eldercare demo` starts its own PostgreSQL and Mosquitto, migrates, registers a
simulated fleet, ingests what the simulator publishes, and stops everything it started."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from common.localservices import postgres_datadir

REPO = Path(__file__).resolve().parents[1]


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    env["ELDERCARE_STATE_DIR"] = str(tmp_path / "state")
    out = subprocess.run(
        [sys.executable, "-m", "common.cli", "--log-level", "WARNING", "demo", "--duration", "12", "--homes", "2",
         "--beds", "20", "--speed", "600"],
        check=False, env=env, cwd=REPO, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    datadir = postgres_datadir(tmp_path / "state" / "pg")
    if datadir.parent != tmp_path / "state":  # the fallback outside the project folder: do not leave it behind
        shutil.rmtree(datadir.parent, ignore_errors=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    assert "started PostgreSQL" in text and "started Mosquitto" in text
    stored = int(re.search(r"stored ([\d,]+), rejected", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert stored > 100, text[-2000:]
    assert "stopped Mosquitto" in text and "stopped PostgreSQL" in text
