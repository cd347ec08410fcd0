import asyncio
from collections.abc import Awaitable, Callable

from bot.waiting import wait_set


async def loop_until_cancelled(
    wait: Callable[[asyncio.Event, float], Awaitable[bool]], event: asyncio.Event
) -> None:
    """A worker loop as Herald's are: wait for a poke or a timeout, forever."""
    while True:
        await wait(event, 10)
        event.clear()


async def cancel_as_it_is_poked(wait: Callable[[asyncio.Event, float], Awaitable[bool]]) -> bool:
    """Whether the worker ended when cancelled in the very moment it was poked."""
    event = asyncio.Event()
    worker = asyncio.create_task(loop_until_cancelled(wait, event))
    for _ in range(3):
        await asyncio.sleep(0)
    event.set()
    await asyncio.sleep(0)  # the wait inside has completed; the worker has not run yet
    worker.cancel()
    done, _ = await asyncio.wait({worker}, timeout=0.5)
    if not done:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    return bool(done)


async def test_a_cancellation_in_the_moment_of_a_poke_ends_the_loop() -> None:
    # With `asyncio.wait_for` in place of `wait_set`, Python 3.11 loses this
    # cancellation and the loop runs on: shutdown then waits for it forever.
    assert await cancel_as_it_is_poked(wait_set)


async def test_wait_set_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert not await wait_set(event, 0.01)
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_set(event, 5)
    assert await wait_set(event, -1), "already set: no wait, even with no time left"
