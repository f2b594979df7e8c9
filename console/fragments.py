"""The run history's table and chart, rendered once per state of the runs mirror.

Every member reads the same shared record, and the history is the page the team keeps open
(it polls while runs are going): the same fifty rows and the same chart were rendered again
for every request, though they change only when the worker writes the mirror. Here they are
rendered once per process for each state of the mirror, query, display zone and what the
member may do, and kept for a minute at the most.

- **The mirror's state** is a random token in the database (``MirrorState``, one row),
  replaced after every commit that writes a run (``mirror_changed``; ``RunRecordQuerySet``
  and the model's signals call it). Every process reads the same row, so the worker's writes
  reach every web process; a replaced token is never used again. Reading it is one small
  query, cheaper than a round trip to Redis. A lost change (a process killed between its
  commit and the new token) shows for at most ``KEPT_SECONDS``.
- **What differs per request** is left as a marker and filled in on the way out: relative
  times ("3 minutes ago", from the clock of the request) and the CSRF token of the rows'
  forms. Markers start with ``<`` and a NUL, which escaped text never contains.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, transaction

T = TypeVar("T")
KEPT = 512  # fragments per process, the oldest dropped first
KEPT_SECONDS = 60.0
CSRF_MARK = "<\x00csrf>"
_TIME_MARK = re.compile("<\x00t ([0-9.eE+-]+) ([^>]*)>")

log = logging.getLogger(__name__)


def _model() -> Any:
    """``console.models.MirrorState``, looked up by name: the models import this module."""
    return apps.get_model("console", "MirrorState")


@cache
def _state_query() -> Any:
    """``SELECT token`` of the one row, compiled once (console/selectors/compiled.py)."""
    from console.selectors.compiled import Compiled

    state = _model()
    return Compiled(state, lambda: state.objects.filter(pk=1).values_list("token"), str)


_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar("deferred_times", default=False)
_kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
_lock = threading.Lock()


def enabled() -> bool:
    return bool(getattr(settings, "CONSOLE_FRAGMENTS", False))


def answers_state() -> str | None:
    """The ``state`` under which fragments rendered from Dr.Gero's answers alone are kept (None
    when kept fragments are off): their key holds the answer itself (``answer_digest``), so no
    state of the console's own outdates them."""
    return "drgero-answers" if enabled() else None


def answer_digest(raw: Any) -> bytes:
    """A digest of one of Dr.Gero's answers as parsed (a mapping), for a fragment's key: equal
    answers have equal digests, whatever the order of their keys."""
    text = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def mirror_state() -> str | None:
    """The runs mirror's current state, as its token (None when kept fragments are off or the
    state cannot be read: then nothing is kept or reused)."""
    if not enabled():
        return None
    try:
        found = _state_query().tuples()
        if not found:
            _model().objects.get_or_create(pk=1, defaults={"token": uuid.uuid4().hex})
            found = _state_query().tuples()
    except DatabaseError:
        log.warning("the runs mirror's state could not be read; the history is not kept")
        return None
    return str(found[0][0]) if found else None


def _new_state() -> None:
    try:
        token = uuid.uuid4().hex
        if not _model().objects.filter(pk=1).update(token=token):
            _model().objects.get_or_create(pk=1, defaults={"token": token})
    except DatabaseError:
        # The write committed; only the kept history lags (KEPT_SECONDS at the most).
        log.exception("the runs mirror's new state could not be written")


def mirror_changed() -> None:
    """A run was written: once the transaction commits, the mirror has a new state."""
    if enabled():
        transaction.on_commit(_new_state)


def deferred_times() -> bool:
    """Whether times are being rendered for a kept fragment (see ``time_mark``)."""
    return _deferred.get()


def time_mark(value: datetime, far: str) -> str:
    """The marker a relative time leaves in a kept fragment: the moment, and what is shown
    when it is more than a month away (a date in the display zone)."""
    return f"<\x00t {value.timestamp()!r} {far}>"


def forget() -> None:
    with _lock:
        _kept.clear()


def fragment(
    key: Hashable,
    render: Callable[[], T],
    *,
    state: str | None,
    keep: Callable[[T], bool] | None = None,
) -> T:
    """``render()``'s result (a fragment with markers, or a tuple holding one), kept under
    ``key`` and the mirror's ``state`` (``mirror_state()``, read once per request; None keeps
    nothing); a result that ``keep`` refuses is rendered again each time."""
    if state is None:
        with rendering():
            return render()
    full = (state, key)
    now = time.monotonic()
    with _lock:
        found = _kept.get(full)
        if found is not None and now - found[0] < KEPT_SECONDS:
            _kept.move_to_end(full)
            return found[1]
    with rendering():
        value = render()
    if keep is None or keep(value):
        with _lock:
            _kept[full] = (now, value)
            while len(_kept) > KEPT:
                _kept.popitem(last=False)
    return value


@contextmanager
def rendering() -> Iterator[None]:
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


@dataclass(frozen=True)
class Marked:
    """A kept fragment: its markup cut at each relative time's marker, so that filling it in
    for a request is a join rather than a search."""

    pieces: tuple[str, ...]  # one more than marks: the markup around them
    marks: tuple[tuple[float, str], ...]  # each time: the moment (a timestamp), and its date

    @classmethod
    def of(cls, markup: str) -> Marked:
        parts = _TIME_MARK.split(markup)  # text, stamp, date, text, stamp, date, …, text
        return cls(
            tuple(parts[0::3]),
            tuple((float(stamp), far) for stamp, far in zip(parts[1::3], parts[2::3], strict=True)),
        )

    def filled(
        self, *, csrf: str, now: datetime, relative: Callable[[float, float, str], str]
    ) -> str:
        """The markup for this request: the CSRF token (escaped by the caller) and each
        relative time from ``now``."""
        stamp = now.timestamp()
        out = [self.pieces[0]]
        for (moment, far), piece in zip(self.marks, self.pieces[1:], strict=True):
            out.append(relative(moment, stamp, far))
            out.append(piece)
        return "".join(out).replace(CSRF_MARK, csrf)
