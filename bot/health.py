"""What /readyz checks: the store answers, and every platform is connected (or on
standby: another process holds Discord's gateway session).

Each check gives a short reason when it fails (`store: down`,
`slack: disconnected`): words a load balancer's log can show, never a secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bot.platforms.base import Platform
    from bot.store import Store

READY_STATUSES = frozenset({"connected", "standby"})
"""The platform statuses that count as ready: `standby` is a Discord process that leaves
the gateway session to another (it serves REST, webhooks and deliveries all the same)."""
STORE_ANSWER_SECONDS = 1.0
"""How long the store may take to answer a readiness check (probes time out too)."""


async def store_problem(store: Store | None) -> str | None:
    """Why the store cannot serve: not open, closed or broken, or too slow to answer."""
    if store is None:
        return "store: not open"
    try:
        async with asyncio.timeout(STORE_ANSWER_SECONDS):
            answered = await store.ping()
    except TimeoutError:
        return f"store: no answer within {STORE_ANSWER_SECONDS:g} s"
    return None if answered else "store: down"


def platform_problems(platforms: Iterable[Platform]) -> list[str]:
    """`name: status` for each platform that is neither connected nor on standby."""
    return [
        f"{p.name}: {status}" for p in platforms if (status := p.status()) not in READY_STATUSES
    ]


@runtime_checkable
class Sharded(Protocol):
    """A platform whose gateway sessions are split into shards (Discord)."""

    def shards(self) -> dict[str, dict[str, Any]] | None:
        """Shard id -> its status, or None when not sharded."""


def platform_shards(platforms: Iterable[Platform]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per-shard status of each sharded platform, for /healthz."""
    return {p.name: shards for p in platforms if isinstance(p, Sharded) and (shards := p.shards())}
