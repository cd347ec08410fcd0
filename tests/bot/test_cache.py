"""Look-ups within a time budget: a slow one is given up on, runs on, and fills the cache."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

from bot.budget import budget
from bot.cache import Lookups


class Api:
    """Answers `name-<key>` once `answering` is set, or once that key is released."""

    def __init__(self) -> None:
        self.answering = asyncio.Event()
        self.released: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.asked: list[str] = []

    def load(self, key: str) -> Callable[[], Awaitable[str]]:
        async def load() -> str:
            self.asked.append(key)
            answering = asyncio.create_task(self.answering.wait())
            released = asyncio.create_task(self.released[key].wait())
            await asyncio.wait([answering, released], return_when=asyncio.FIRST_COMPLETED)
            answering.cancel()
            released.cancel()
            return f"name-{key}"

        return load


async def test_an_answer_within_the_budget_is_used() -> None:
    api, lookups = Api(), Lookups[str]()
    api.answering.set()
    with budget(1.0) as opened:
        assert await lookups.get("a", api.load("a")) == "name-a"
    assert opened.late == []


async def test_a_slow_answer_is_given_up_on_then_fills_the_cache() -> None:
    api, lookups = Api(), Lookups[str]()
    started = time.monotonic()
    with budget(0.05) as opened:
        assert await lookups.get("a", api.load("a")) is None
    assert time.monotonic() - started < 0.5
    (late,) = opened.late
    api.answering.set()
    assert await late == "name-a"
    assert await lookups.get("a", api.load("a")) == "name-a"
    assert api.asked == ["a"], "the look-up ran once, on past the budget"


async def test_while_one_look_up_is_overdue_others_do_not_wait() -> None:
    api, lookups = Api(), Lookups[str]()
    with budget(0.05):
        assert await lookups.get("a", api.load("a")) is None
    started = time.monotonic()
    for key in ("b", "c", "d"):
        with budget(5.0) as opened:
            assert await lookups.get(key, api.load(key)) is None
        assert len(opened.late) == 1
    assert time.monotonic() - started < 0.5, "the service is known to be slow"


async def test_a_look_up_not_waited_for_does_not_count_as_overdue() -> None:
    api, lookups = Api(), Lookups[str]()
    with budget(0.05):
        assert await lookups.get("a", api.load("a")) is None
    with budget(5.0) as skipped:
        assert await lookups.get("b", api.load("b")) is None  # "a" is overdue: no wait
    api.released["a"].set()
    await asyncio.sleep(0.01)
    api.released["c"].set()
    with budget(5.0):
        assert await lookups.get("c", api.load("c")) == "name-c", (
            "b, never waited for, is not overdue"
        )
    api.released["b"].set()
    assert await skipped.late[0] == "name-b"
