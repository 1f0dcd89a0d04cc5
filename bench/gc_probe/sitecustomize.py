"""Loaded into the gateway process by `python -m bench.ocpp_load --gc-stats` (PYTHONPATH).

Times every cyclic garbage collection by generation and writes a JSON summary to
$VOLTLANE_BENCH_GC_STATS when the process exits. Measurement only: it changes nothing,
unless an experiment is asked for: $VOLTLANE_BENCH_GC_THRESHOLD ("gen0,gen1,gen2") sets the
thresholds, $VOLTLANE_BENCH_GC_FREEZE_EVERY (seconds) calls gc.freeze() that often from a
daemon thread (what lives by then, e.g. the connections, is no longer scanned).
"""

import atexit
import gc
import json
import os
import threading
import time

# One file per process (``<path>.<pid>``): `voltlane ocpp --processes N` runs N gateways.
_out = os.environ.get("VOLTLANE_BENCH_GC_STATS", "")
if _out:
    _stats = {g: {"collections": 0, "seconds": 0.0, "max_ms": 0.0} for g in (0, 1, 2)}
    _started = [0.0]
    _born = time.time()

    def _callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _started[0] = time.perf_counter()
            return
        spent = time.perf_counter() - _started[0]
        entry = _stats[info["generation"]]
        entry["collections"] += 1
        entry["seconds"] += spent
        entry["max_ms"] = max(entry["max_ms"], spent * 1000)

    def _write() -> None:
        with open(f"{_out}.{os.getpid()}", "w") as handle:
            json.dump(
                {
                    "lifetime_s": time.time() - _born,
                    "threshold": gc.get_threshold(),
                    "tracked_objects_at_exit": len(gc.get_objects()),
                    "generations": _stats,
                },
                handle,
            )

    threshold = os.environ.get("VOLTLANE_BENCH_GC_THRESHOLD")
    if threshold:
        gc.set_threshold(*(int(v) for v in threshold.split(",")))
    freeze_every = float(os.environ.get("VOLTLANE_BENCH_GC_FREEZE_EVERY", "0") or 0)
    if freeze_every > 0:

        def _freeze() -> None:
            while True:
                time.sleep(freeze_every)
                gc.freeze()

        threading.Thread(target=_freeze, name="bench-gc-freeze", daemon=True).start()
    gc.callbacks.append(_callback)
    atexit.register(_write)

# $VOLTLANE_BENCH_LOOP_STATS (`--loop-stats`): where the gateway's time goes between a call's
# arrival and its reply. Each group commit batch (start, milliseconds from the first
# statement to the commit, requests), each frame-log COPY (milliseconds, rows) and the
# event loop's lag (how late a 10 ms timer fires: time the loop was busy with other work).
# Measurement only: the wrapped methods run unchanged.
_loop_out = os.environ.get("VOLTLANE_BENCH_LOOP_STATS", "")
if _loop_out:
    import asyncio

    from voltlane.core import group_commit as _group_commit
    from voltlane.ocpp import frames as _frames
    from voltlane.ocpp import server as _server

    _loop: dict[str, list[list[float]]] = {"batches": [], "copies": [], "lag": []}
    _execute = _group_commit.GroupCommit._execute
    _copy = _frames.FrameLog._copy
    _start = _server.Gateway.start

    async def _timed_execute(self, batch):  # type: ignore[no-untyped-def]
        began, clock = time.time(), time.perf_counter()
        try:
            return await _execute(self, batch)
        finally:
            spent = (time.perf_counter() - clock) * 1000
            _loop["batches"].append([began, spent, len(batch)])

    async def _timed_copy(self, tenant_key, rows):  # type: ignore[no-untyped-def]
        began, clock = time.time(), time.perf_counter()
        try:
            return await _copy(self, tenant_key, rows)
        finally:
            _loop["copies"].append([began, (time.perf_counter() - clock) * 1000, len(rows)])

    async def _lag() -> None:
        while True:
            clock = time.perf_counter()
            await asyncio.sleep(0.01)
            _loop["lag"].append([time.time(), (time.perf_counter() - clock - 0.01) * 1000])

    async def _start_with_lag(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = await _start(self, *args, **kwargs)
        self._tasks.append(asyncio.create_task(_lag(), name="bench-loop-lag"))
        return result

    def _write_loop() -> None:
        with open(f"{_loop_out}.{os.getpid()}", "w") as handle:
            json.dump(_loop, handle)

    _group_commit.GroupCommit._execute = _timed_execute  # type: ignore[method-assign]
    _frames.FrameLog._copy = _timed_copy  # type: ignore[method-assign]
    _server.Gateway.start = _start_with_lag  # type: ignore[method-assign]
    atexit.register(_write_loop)
