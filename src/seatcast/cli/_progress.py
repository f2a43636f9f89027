"""Progress display for long steps: a bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

__all__ = ["ProgressFactory"]

logger = logging.getLogger("seatcast")

LOG_INTERVAL_SECONDS = 10.0


class ProgressFactory:
    """Create progress callbacks, one per step, and close them all at the end.

    Used as ``progress(description, total)``, which returns ``update(n)``. On a terminal the
    step gets a tqdm bar on standard error. Otherwise it logs a line at most every
    ``LOG_INTERVAL_SECONDS`` and a final count, so CI logs and files stay readable.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._closers: list[Callable[[], None]] = []

    def __call__(self, description: str, total: int | None) -> Callable[[int], None]:
        self.close()
        if not self.enabled:
            return lambda n: None
        if sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=total, desc=description, unit=" items", file=sys.stderr, leave=False)
            self._closers.append(bar.close)
            return bar.update
        state = {"done": 0, "last": time.monotonic()}

        def update(n: int) -> None:
            state["done"] += n
            now = time.monotonic()
            if now - state["last"] >= LOG_INTERVAL_SECONDS:
                state["last"] = now
                of = f" of {total}" if total else ""
                logger.info("%s: %d%s done", description, state["done"], of)

        def close() -> None:
            if state["done"]:
                logger.info("%s: %d done", description, state["done"])

        self._closers.append(close)
        return update

    def close(self) -> None:
        """Close every open bar."""
        while self._closers:
            self._closers.pop()()
