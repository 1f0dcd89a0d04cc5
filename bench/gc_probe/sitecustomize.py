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
        with open(_out, "w") as handle:
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
