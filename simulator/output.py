"""Message sinks: JSON Lines file (``--output``), in-memory list (tests), and the labels writer."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import IO, Protocol

from simulator.clock import Rfc3339

# (publish time ms, device index, sequence, topic, payload, retain)
Msg = tuple[int, int, int, str, "str | bytes", bool]


class Sink(Protocol):
    def write(self, batch: list[Msg]) -> None: ...

    def close(self) -> None: ...


class JsonlSink:
    """One JSON object per message: ``{"t": virtual publish time, "topic", "retain", "payload"}``.

    ``payload`` is the exact payload text; a payload that is not UTF-8 (the ``invalid_utf8`` fault) is written as
    ``payload_b64`` instead. Replay (:mod:`simulator.replay`) reads this format back.
    """

    def __init__(self, path: str | Path) -> None:
        self._fh: IO[str] = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed in close()
        self._fmt = Rfc3339()
        self.count = 0

    def write(self, batch: list[Msg]) -> None:
        fmt, dumps = self._fmt, json.dumps
        lines = []
        for pub, _g, _n, topic, raw, retain in batch:
            if isinstance(raw, bytes):
                try:
                    payload = raw.decode("utf-8")
                except UnicodeDecodeError:
                    b64 = base64.b64encode(raw).decode()
                    lines.append(
                        f'{{"t":"{fmt(pub)}","topic":{dumps(topic)},"retain":{"true" if retain else "false"},'
                        f'"payload_b64":"{b64}"}}\n'
                    )
                    continue
            else:
                payload = raw
            lines.append(
                f'{{"t":"{fmt(pub)}","topic":"{topic}","retain":{"true" if retain else "false"},'
                f'"payload":{dumps(payload, ensure_ascii=False)}}}\n'
            )
        self._fh.writelines(lines)
        self.count += len(batch)

    def close(self) -> None:
        self._fh.close()


class ListSink:
    """Keeps every message in memory (tests, benchmark payload sets)."""

    def __init__(self) -> None:
        self.messages: list[Msg] = []

    def write(self, batch: list[Msg]) -> None:
        self.messages.extend(batch)

    def close(self) -> None:
        pass


class NullSink:
    """Counts and forgets (timing the generator alone)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, batch: list[Msg]) -> None:
        self.count += len(batch)

    def close(self) -> None:
        pass


class LabelWriter:
    def __init__(self, path: str | Path | None) -> None:
        self._fh: IO[str] | None = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115

    def write(self, lines: list[str]) -> None:
        if self._fh and lines:
            self._fh.write("\n".join(lines) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh:
            self._fh.close()
