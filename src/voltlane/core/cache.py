"""A small time-to-live cache whose concurrent misses of one key share one load.

Hot paths (every OCPP message, every web request) read a few slowly changing facts — a
brand by key or host, whether a brand has a roaming partner to tell. When such a fact
expires under load, hundreds of requests in flight would each run the same lookup at once
and hold a database connection for it; here the first one loads and the others wait for
its answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values by key for ``ttl`` seconds. ``keep(value)`` says whether a loaded value is
    cached (default: always); a value it refuses is still the answer of every caller that
    waited for that load. A load that raises caches nothing and raises in every waiter."""

    def __init__(
        self,
        ttl: float,
        *,
        keep: Callable[[V], bool] | None = None,
        max_entries: int = 10_000,
    ) -> None:
        self.ttl = ttl
        self.keep = keep
        self.max_entries = max_entries
        self._values: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}
        self.loads = 0

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        cached = self._values.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        loading = self._loading.get(key)
        # A load left pending by an event loop that has ended (asyncio.run per command) is
        # never awaited from another loop: this one loads afresh.
        if loading is None or loading.get_loop() is not asyncio.get_running_loop():
            loading = asyncio.ensure_future(self._load(key, load))
            # Retrieved here too, so a failed load nobody waits for any more is not logged.
            loading.add_done_callback(_retrieve)
            self._loading[key] = loading
        # shield: a caller cancelled while waiting does not cancel the others' load.
        return await asyncio.shield(loading)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        try:
            self.loads += 1
            value = await load()
            if self.keep is None or self.keep(value):
                if len(self._values) >= self.max_entries:
                    now = time.monotonic()
                    self._values = {k: v for k, v in self._values.items() if v[0] > now}
                self._values[key] = (time.monotonic() + self.ttl, value)
            else:
                self._values.pop(key, None)
            return value
        finally:
            self._loading.pop(key, None)

    def invalidate(self, key: K | None = None) -> None:
        """Forget ``key`` (or everything); a load under way still answers its waiters."""
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
