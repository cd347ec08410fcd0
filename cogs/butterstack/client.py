"""ButterStack's REST API, as much of it as Herald uses.

Every call goes through one `ServiceClient`, so all projects share one rate
limiter: the key's quota (60 requests a minute by default) is per key, not
per project.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

import httpx

from bot.budget import within_budget
from bot.errors import ServiceError
from bot.http import ServiceClient
from cogs.butterstack.models import Build, Changelist, Deployment, items, newest_first

log = logging.getLogger(__name__)

MAX_PAGE = 100  # ButterStack's largest `limit`


def read_error(response: httpx.Response) -> str | None:
    """ButterStack's reason from `{"error": code, "message": text}`."""
    body = response.json()
    if not isinstance(body, dict):
        return None
    for key in ("message", "error"):
        if isinstance(body.get(key), str) and body[key].strip():
            return str(body[key])
    return None


def _segment(value: str) -> str:
    """An id as one path segment: whatever a user typed cannot reach another path."""
    return quote(value.strip(), safe="")


class ButterStackClient:
    def __init__(self, http: ServiceClient) -> None:
        self.http = http

    async def _get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        response = await self.http.request("GET", path, params=query or None)
        try:
            return response.json()
        except ValueError:
            raise ServiceError(
                "ButterStack", "ButterStack sent an answer Herald cannot read.", retryable=True
            ) from None

    async def builds(
        self, project_id: str, *, status: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[Build]:
        """A project's builds, newest created first (whatever order ButterStack sends)."""
        body = await self._get(
            f"projects/{_segment(project_id)}/builds",
            status=status,
            limit=min(limit, MAX_PAGE),
            offset=offset or None,
        )
        return newest_first(
            Build.parse({"project_id": project_id, **b}) for b in items(body, "builds")
        )

    async def build(self, build_id: str) -> Build:
        body = await self._get(f"builds/{_segment(build_id)}")
        return Build.parse(body.get("build", body) if isinstance(body, dict) else {})

    async def deployments(
        self, project_id: str, *, limit: int = 20, offset: int = 0
    ) -> list[Deployment]:
        """A project's deployments, newest created first (whatever order ButterStack sends)."""
        body = await self._get(
            f"projects/{_segment(project_id)}/deployments",
            limit=min(limit, MAX_PAGE),
            offset=offset or None,
        )
        return newest_first(
            Deployment.parse({"project_id": project_id, **d}) for d in items(body, "deployments")
        )

    async def deployment(self, deployment_id: str) -> Deployment:
        body = await self._get(f"deployments/{_segment(deployment_id)}")
        return Deployment.parse(body.get("deployment", body) if isinstance(body, dict) else {})

    async def changelist(self, changelist: str) -> Changelist:
        """A changelist by number (`12345`) or id (`cl_12345`).

        ButterStack names changelists `cl_<number>` and builds carry the bare
        number; a number is asked for as `cl_<number>` first, then as itself.
        """
        wanted = changelist.strip()
        if wanted.isdigit():
            try:
                return await self._changelist(f"cl_{wanted}")
            except ServiceError as error:
                if error.status != 404:
                    raise
        return await self._changelist(wanted)

    async def _changelist(self, identifier: str) -> Changelist:
        body = await self._get(f"changelists/{_segment(identifier)}")
        return Changelist.parse(body.get("changelist", body) if isinstance(body, dict) else {})

    async def trigger(
        self, project_id: str, platform: str, configuration: str, changelist: str
    ) -> Build:
        response = await self.http.request(
            "POST",
            f"projects/{_segment(project_id)}/builds",
            json={"platform": platform, "configuration": configuration, "changelist": changelist},
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body.get("build", body) if isinstance(body, dict) else {}
        return Build.parse({"project_id": project_id, **body})


class Changelists:
    """Changelists by number, cached: a submitted changelist does not change.

    A changelist ButterStack does not know is remembered as unknown for a
    while, so a build on an unknown changelist costs one request, not one per
    poll.
    """

    UNKNOWN_FOR = 600.0

    def __init__(self, api: ButterStackClient, size: int = 500) -> None:
        self.api = api
        self.size = size
        self._known: OrderedDict[str, Changelist | float] = OrderedDict()
        self._reading: dict[str, asyncio.Task[Changelist | None]] = {}

    def peek(self, number: str) -> Changelist | None:
        """The cached changelist, without asking ButterStack."""
        cached = self._known.get(number)
        return cached if isinstance(cached, Changelist) else None

    def cached(self, number: str) -> bool:
        """Whether asking ButterStack again would be a waste (known, or recently unknown)."""
        cached = self._known.get(number)
        return isinstance(cached, Changelist) or (
            isinstance(cached, float) and time.monotonic() < cached
        )

    async def get(self, number: str) -> Changelist | None:
        """The changelist, from the cache or ButterStack; None when ButterStack has none."""
        if self.cached(number):
            return self.peek(number)
        try:
            found: Changelist | float = await self.api.changelist(number)
        except ServiceError as error:
            if error.status != 404:
                raise
            found = time.monotonic() + self.UNKNOWN_FOR
        self._known[number] = found
        self._known.move_to_end(number)
        while len(self._known) > self.size:
            self._known.popitem(last=False)
        return found if isinstance(found, Changelist) else None

    async def find(self, number: str) -> Changelist | None:
        """Like `get`, for decorating a card: a failure leaves the card without it."""
        try:
            return await self.get(number)
        except ServiceError as error:
            log.info("ButterStack changelist %s not read: %s", number, error.message)
            return None

    def read_ahead(self, number: str) -> None:
        """Start reading a changelist a card will want, unless known or under way already."""
        if self.cached(number) or number in self._reading:
            return
        task = asyncio.create_task(self.find(number), name=f"changelist {number}")
        self._reading[number] = task
        task.add_done_callback(lambda _: self._reading.pop(number, None))

    async def for_card(self, number: str) -> Changelist | None:
        """The changelist if known, or if its reading answers within the open look-up budget."""
        reading = self._reading.get(number)
        return await within_budget(reading) if reading is not None else self.peek(number)
