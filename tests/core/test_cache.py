"""The hot paths' TTL cache: one load per key however many ask at once."""

from __future__ import annotations

import asyncio

import pytest

from voltlane.core.cache import TtlCache


async def test_concurrent_misses_of_one_key_share_one_load_and_its_answer() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    release = asyncio.Event()
    calls: list[str] = []

    async def load() -> int:
        calls.append("load")
        await release.wait()
        return 42

    waiters = [asyncio.create_task(cache.get("brand", load)) for _ in range(200)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [42] * 200
    assert calls == ["load"]
    assert await cache.get("brand", load) == 42  # cached: no second load
    assert cache.loads == 1


async def test_an_expired_value_is_loaded_again_and_other_keys_load_on_their_own() -> None:
    cache: TtlCache[str, str] = TtlCache(0)
    answers = iter(["first", "second", "other"])

    async def load() -> str:
        return next(answers)

    assert await cache.get("a", load) == "first"
    assert await cache.get("a", load) == "second"  # ttl 0: expired at once
    assert await cache.get("b", load) == "other"
    assert cache.loads == 3


async def test_a_refused_value_answers_its_waiters_but_is_not_kept() -> None:
    cache: TtlCache[str, str | None] = TtlCache(60, keep=lambda value: value is not None)
    answers = iter([None, "provisioned"])

    async def load() -> str | None:
        return next(answers)

    assert await cache.get("new-brand", load) is None
    assert await cache.get("new-brand", load) == "provisioned"  # the miss was not cached
    assert await cache.get("new-brand", load) == "provisioned"
    assert cache.loads == 2


async def test_a_failed_load_raises_in_every_waiter_and_the_next_call_loads_again() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    release = asyncio.Event()
    attempts = 0

    async def load() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await release.wait()
            raise ConnectionError("database restarting")
        return 7

    waiters = [asyncio.create_task(cache.get("k", load)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError] * 3
    assert await cache.get("k", load) == 7
    assert attempts == 2


async def test_a_cancelled_waiter_does_not_cancel_the_load_the_others_wait_for() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    release = asyncio.Event()

    async def load() -> int:
        await release.wait()
        return 5

    first = asyncio.create_task(cache.get("k", load))
    second = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == 5
    assert cache.loads == 1


async def test_invalidate_forgets_values() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    values = iter([1, 2, 3])

    async def load() -> int:
        return next(values)

    assert await cache.get("a", load) == 1
    cache.invalidate("a")
    assert await cache.get("a", load) == 2
    cache.invalidate()
    assert await cache.get("a", load) == 3


def test_a_load_left_pending_by_an_ended_event_loop_is_not_awaited_by_the_next() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    stuck = asyncio.Event()

    async def never() -> int:
        await stuck.wait()
        return 0

    pending: list[asyncio.Future[int]] = []

    async def start_a_load() -> None:
        pending.append(asyncio.ensure_future(cache.get("k", never)))
        await asyncio.sleep(0)

    async def load_again() -> int:
        async def load() -> int:
            return 9

        return await cache.get("k", load)

    old = asyncio.new_event_loop()
    old.run_until_complete(start_a_load())
    old.close()  # closed with the load still pending, nothing cancelled
    assert asyncio.run(load_again()) == 9
    assert not pending[0].done()  # the first loop's caller never got an answer
