"""The sandbox's clock: real time times a speed factor, plus whatever tests advance it by."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    def __init__(self, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._origin_wall = datetime.now(UTC)
        self._origin_mono = time.monotonic()
        self._offset = 0.0
        self.speed = speed

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._origin_mono) * self.speed + self._offset
        return self._origin_wall + timedelta(seconds=elapsed)

    def run_ahead(self, seconds: float) -> datetime:
        """From now on, run ``seconds`` ahead of the wall clock (a kept world resuming)."""
        with self._lock:
            self._origin_wall = datetime.now(UTC)
            self._origin_mono = time.monotonic()
            self._offset = seconds
        return self.now()

    def advance(self, seconds: float) -> datetime:
        """Move time forward, so tests never wait on the wall clock."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()
