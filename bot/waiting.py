"""Waiting with a time limit, without losing a cancellation.

On Python 3.11, `asyncio.wait_for` swallows a cancellation that arrives just
as the awaited thing completes: the task goes on as if never cancelled, and a
shutdown that cancels a worker loop and waits for it hangs forever. The
`asyncio.timeout` context manager has no such race, so every timed wait in a
loop that shutdown cancels goes through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol


class Spawner(Protocol):
    """Runs background work as a task whose crash is logged (`Core.spawn`)."""

    def __call__(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; whether it was set."""
    try:
        async with asyncio.timeout(max(seconds, 0.0)):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def finish_or_cancel(task: asyncio.Task[None], grace: float) -> None:
    """Let `task` finish within `grace` seconds (an attempt in flight is recorded
    once), else cancel it; either way it has ended when this returns."""
    try:
        await asyncio.wait_for(asyncio.shield(task), grace)
    except TimeoutError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
