"""Group commit on its own (`bot.store.groupcommit`), with a write that records what it
was given: batches in arrival order up to the limit, and a writer stopped mid-write
leaves no caller waiting forever."""

from __future__ import annotations

import asyncio

from bot.store.groupcommit import GroupCommit


async def test_what_queued_meanwhile_is_written_together_up_to_the_limit() -> None:
    batches: list[list[int]] = []

    async def write(rows: list[int]) -> list[str]:
        batches.append(rows)
        await asyncio.sleep(0.01)
        return [f"row {row}" for row in rows]

    group: GroupCommit[int, str] = GroupCommit(write, 3, "test writer")
    first = asyncio.create_task(group.submit(0))
    await asyncio.sleep(0.001)  # the first write is under way
    answers = await asyncio.gather(first, *(group.submit(n) for n in range(1, 6)))
    assert batches == [[0], [1, 2, 3], [4, 5]]
    assert answers == [f"row {n}" for n in range(6)]


async def test_a_writer_stopped_mid_write_answers_every_caller_waiting() -> None:
    writing = asyncio.Event()

    async def write(rows: list[int]) -> list[int]:
        writing.set()
        await asyncio.Event().wait()  # never done
        return rows

    group: GroupCommit[int, int] = GroupCommit(write, 2, "stopped writer")
    calls = [asyncio.create_task(group.submit(n)) for n in range(5)]
    await writing.wait()
    (writer,) = [t for t in asyncio.all_tasks() if t.get_name() == "stopped writer"]
    writer.cancel()
    await group.drain()
    answers = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(a, asyncio.CancelledError) for a in answers), answers
