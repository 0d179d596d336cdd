"""Races between processes: spawned workers set up, wait until all are ready, start together, report back.

Threads share one interpreter and take turns; processes race the way several app and scheduler processes do.
"""
from __future__ import annotations

import multiprocessing
import queue
import sys
import time
import types
from collections.abc import Callable
from typing import Any


def _child(target: Callable[..., Any], args: tuple, ready: Any, start: Any, results: Any) -> None:
    def go() -> None:
        ready.put(True)
        start.wait()
    try:
        results.put((True, target(*args, go)))
    except BaseException as exc:  # noqa: BLE001 - reported to the test, never lost in a child
        results.put((False, repr(exc)))


def _get(q: Any, procs: list, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return q.get(timeout=0.5)
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise AssertionError(f"a racing process died before it could {what} (exit codes {dead})") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"the racing processes did not {what} within {timeout:.0f} s") from None


def run_together(target: Callable[..., Any], argsets: list[tuple], *, timeout: float = 60.0) -> list[Any]:
    """Run `target(*args, go)` in one spawned process per args; each calls go() when set up and is released with
    the others; their return values, in the order they finished. A failing or dying process fails the test."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    saved = sys.modules["__main__"]
    # After Streamlit's AppTest ran, __main__ is app.py, and spawned children would run it: give them a bare one.
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        procs = [ctx.Process(target=_child, args=(target, args, ready, start, results)) for args in argsets]
        for p in procs:
            p.start()
    finally:
        sys.modules["__main__"] = saved
    try:
        for _ in procs:
            _get(ready, procs, timeout, "get ready")
        start.set()
        out = [_get(results, procs, timeout, "finish") for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    failed = [value for ok, value in out if not ok]
    assert not failed, f"a racing process failed: {failed}"
    return [value for _, value in out]


def as_user(url: str, user_id: int, go: Callable[[], None], work: Callable[[Any, Any], Any], *,
            done: str = "won") -> str:
    """The body of a racing process: a runtime of its own on `url`, the user's actor, go(), then `work(session,
    actor)` in one transaction; `done` when it commits, the Conflict's message when it loses."""
    from core import runtime, tenancy
    from core.errors import Conflict
    from db.models import User

    rt = runtime.start(url=url, prepare=False)
    try:
        with rt() as s:
            actor = tenancy.actor_for(s, s.get(User, user_id))
        go()
        try:
            with rt() as s:
                work(s, actor)
            return done
        except Conflict as exc:
            return str(exc)
    finally:
        rt.engine.dispose()
