"""Adapters hand their outbound side to a platform-specific object; this forwards to it."""

from __future__ import annotations

from typing import Protocol

from bot.models import Destination, Posted, Reply


class Outbound(Protocol):
    async def post(
        self, to: Destination, reply: Reply, *, key: str | None = None, plain: bool = False
    ) -> Posted: ...
    async def edit(self, posted: Posted, reply: Reply, *, plain: bool = False) -> None: ...
    async def find_posted(self, to: Destination, key: str, since: float) -> Posted | None: ...
    async def direct(self, user_id: str, reply: Reply) -> Posted: ...
    async def open_thread(self, posted: Posted, name: str) -> Destination: ...
    def capacity(self, to: Destination) -> int: ...
    def ready_in(self, to: Destination) -> float: ...


class ForwardsOutbound:
    """The `Platform` protocol's sending methods, served by `self.outbound`."""

    outbound: Outbound

    async def post(
        self, to: Destination, reply: Reply, *, key: str | None = None, plain: bool = False
    ) -> Posted:
        return await self.outbound.post(to, reply, key=key, plain=plain)

    async def edit(self, posted: Posted, reply: Reply, *, plain: bool = False) -> None:
        await self.outbound.edit(posted, reply, plain=plain)

    async def find_posted(self, to: Destination, key: str, since: float) -> Posted | None:
        return await self.outbound.find_posted(to, key, since)

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        return await self.outbound.direct(user_id, reply)

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        return await self.outbound.open_thread(posted, name)

    def capacity(self, to: Destination) -> int:
        return self.outbound.capacity(to)

    def ready_in(self, to: Destination) -> float:
        return self.outbound.ready_in(to)
