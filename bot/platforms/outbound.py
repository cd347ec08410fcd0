"""Adapters hand their outbound side to a platform-specific object; this forwards to it."""

from __future__ import annotations

from typing import Protocol

from bot.models import Destination, Posted, Reply


class Outbound(Protocol):
    async def post(self, to: Destination, reply: Reply, *, key: str | None = None) -> Posted: ...
    async def edit(self, posted: Posted, reply: Reply) -> None: ...
    async def direct(self, user_id: str, reply: Reply) -> Posted: ...
    async def open_thread(self, posted: Posted, name: str) -> Destination: ...
    def capacity(self, to: Destination) -> int: ...
    def ready_in(self, to: Destination) -> float: ...


class ForwardsOutbound:
    """The `Platform` protocol's sending methods, served by `self.outbound`."""

    outbound: Outbound

    async def post(self, to: Destination, reply: Reply, *, key: str | None = None) -> Posted:
        return await self.outbound.post(to, reply, key=key)

    async def edit(self, posted: Posted, reply: Reply) -> None:
        await self.outbound.edit(posted, reply)

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        return await self.outbound.direct(user_id, reply)

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        return await self.outbound.open_thread(posted, name)

    def capacity(self, to: Destination) -> int:
        return self.outbound.capacity(to)

    def ready_in(self, to: Destination) -> float:
        return self.outbound.ready_in(to)
