"""Time budgets for the look-ups that decorate an announcement card.

A card reads better with a name or title fetched from a service's API, but
the announcement must not wait on a slow API. While the router builds an
event it opens a `Budget`; a look-up awaited through `within_budget` gives up
when the budget is spent and answers None (the card is built from the
payload), and the look-up, which runs on, is noted as late. The router
rebuilds the card once the late look-ups have answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

V = TypeVar("V")


@dataclass
class Budget:
    """How long the look-ups of one delivery may still take, and those that took longer."""

    deadline: float
    late: list[asyncio.Future[Any]] = field(default_factory=list)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


_current: ContextVar[Budget | None] = ContextVar("look-up budget", default=None)


@contextmanager
def budget(seconds: float) -> Iterator[Budget]:
    """Look-ups awaited inside this block share `seconds` between them."""
    opened = Budget(time.monotonic() + seconds)
    token = _current.set(opened)
    try:
        yield opened
    finally:
        _current.reset(token)


def remaining() -> float | None:
    """Seconds left in the open budget; None when no budget is open."""
    current = _current.get()
    return current.remaining() if current is not None else None


async def within_budget(look_up: asyncio.Future[V], *, patience: bool = True) -> V | None:
    """`look_up`'s answer, or None when it is not there before the open budget is spent.

    Without an open budget this waits as long as the look-up takes. With
    `patience` False it does not wait at all unless the answer is already in
    (the service is known to be slow right now). A look-up given up on keeps
    running and is noted as late; cancelling the caller never cancels it.
    """
    current = _current.get()
    if current is None:
        return await asyncio.shield(look_up)
    if not look_up.done():
        wait = current.remaining() if patience else 0.0
        done, _ = await asyncio.wait([look_up], timeout=wait)
        if not done:
            current.late.append(look_up)
            return None
    return look_up.result()
