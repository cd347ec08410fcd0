"""Group commit, the same for every engine: callers queue their rows, and one writer
task writes whatever queued meanwhile in one statement, then answers each caller.

Rows are written in the order they were queued, a batch at a time. A caller is
answered only once its batch is committed; a batch that fails answers each of its
callers with the error (none of it acknowledged), and the next batch is tried anew.
A caller cancelled while waiting takes nothing from the others: its row is still
written with its batch, and the answer nobody waits for is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Row = TypeVar("Row")
Answer = TypeVar("Answer")


class GroupCommit(Generic[Row, Answer]):
    """`write` takes up to `limit` rows and commits them, returning one answer per row,
    in order; `name` names the writer task."""

    def __init__(
        self,
        write: Callable[[list[Row]], Awaitable[Sequence[Answer]]],
        limit: int,
        name: str,
    ) -> None:
        self._write = write
        self._limit = limit
        self._name = name
        self._queue: list[tuple[Row, asyncio.Future[Answer]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, row: Row) -> Answer:
        """Queue `row`; its answer once its batch is committed."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run(), name=self._name)
        return await future

    async def drain(self) -> None:
        """Wait until every row queued is written or its caller told why not (the writer
        is waited for, never cancelled: a batch is not cut short)."""
        if self._writer is not None:
            await asyncio.wait({self._writer})

    async def _run(self) -> None:
        while self._queue:
            batch = self._queue[: self._limit]
            del self._queue[: self._limit]
            try:
                answers = await self._write([row for row, _ in batch])
            except BaseException as error:
                if isinstance(error, Exception):
                    _fail(batch, error)
                    continue
                _fail([*batch, *self._queue], error)  # the writer itself is cancelled
                self._queue.clear()
                raise
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():  # a caller may have gone away meanwhile
                    future.set_result(answer)


def _fail(batch: Sequence[tuple[object, asyncio.Future[Answer]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
