"""Background work for pages: a daemon thread per job, its progress polled once a second by a fragment.

Why a thread and not a long call inside the script: Streamlit already runs each browser session's script in its
own thread, so a long call would not block other users — but it would freeze this user's page for the 10–30 s a
50k-keyword clustering or an AI batch takes, and any click meanwhile would rerun the script and abort the work.
A job thread survives reruns; the page stays usable and shows a progress bar until the result is in.

The job lives in st.session_state (this browser session only: nothing is cached or shared across users) and holds
plain data and its thread, never a database Session: the work opens its own short transactions through the
Runtime (claim → commit → work → record). It calls no Streamlit API: it has no script context.
It lives beside ui.py, not in pages/, for the reason ui.py gives.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from core.errors import DomainError
from ui_text import md

log = logging.getLogger("igny8.jobs")
Report = Callable[[str, float], None]  # (message, fraction done)


@dataclass
class Job:
    """One background run: progress, then a result or an error message for a person."""

    kind: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    message: str = "Starting …"
    fraction: float = 0.0
    result: Any = None
    error: str | None = None
    finished: bool = False
    started: float = field(default_factory=time.monotonic)
    thread: threading.Thread | None = None

    def report(self, message: str, fraction: float) -> None:
        """The progress callback handed to core (called from the job thread)."""
        self.message, self.fraction = message, min(max(float(fraction), 0.0), 1.0)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests and the CLI-like callers); True when it has."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.finished


def _run(job: Job, work: Callable[[Report], Any]) -> None:
    try:
        job.result = work(job.report)
    except DomainError as exc:
        job.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - a job thread must end with a message, never die silently
        log.exception("background job %s failed", job.kind)
        job.error = f"Something went wrong ({type(exc).__name__}); nothing more was written. Try again."
    finally:
        job.finished = True


def start(key: str, *, kind: str, label: str, work: Callable[[Report], Any], **params: Any) -> Job | None:
    """Start `work(report)` in a thread unless a job of this key is still running (then a warning, None); `label`
    is plain text (a file name in it shows as written)."""
    current: Job | None = st.session_state.get(key)
    if current is not None and not current.finished:
        st.warning(f"“{md(current.label)}” is still running; wait for it to finish.")
        return None
    job = Job(kind, label, params)
    job.thread = threading.Thread(target=_run, args=(job, work), name=f"igny8-{kind}", daemon=True)
    st.session_state[key] = job
    job.thread.start()
    return job


def get(key: str) -> Job | None:
    """The job of this key (running or finished), if any."""
    return st.session_state.get(key)


def take(key: str) -> Job | None:
    """The finished job of this key, removed (so its result is shown once); None while it runs or when none."""
    job: Job | None = st.session_state.get(key)
    if job is None or not job.finished:
        return None
    del st.session_state[key]
    return job


@st.fragment(run_every=1.0)
def _poll(key: str) -> None:
    job: Job | None = st.session_state.get(key)
    if job is None:
        return
    if job.finished:
        st.rerun()  # the whole page: it shows the result
    elapsed = time.monotonic() - job.started
    st.progress(job.fraction, text=f"{md(job.label)} — {md(job.message)} ({elapsed:.0f} s)")


def progress(key: str) -> bool:
    """Show the running job's progress (refreshed every second); True while one runs. The bar has a slot of its
    own, drawn with or without a job, so that the elements below keep their places when it comes and goes: the
    browser would draw them anew otherwise, and an open tab would fall back to the first one."""
    job: Job | None = st.session_state.get(key)
    with st.container():
        if job is None or job.finished:
            return False
        _poll(key)
    return True
