"""A fake ButterStack: builds, deployments and changelists, behind ButterStack's rate limit.

It checks what ButterStack checks (the Bearer key and its permissions, the
trigger body), answers in its shapes and errors (`{"error": code, "message":
text}`), lists newest first with `limit` (default 20, at most 100) and
`offset`, and enforces the documented limit per key: `limit` requests per
fixed `window` seconds (60 a minute) and at most `burst` in any `burst_window`
(10 a second). Every answer carries `X-RateLimit-Limit`, `-Remaining` and
`-Reset` (epoch seconds, the end of the window); past the limit it answers 429
`rate_limited`. A request that arrives while the last answer to its key said
no request was left (or was a 429), before that answer's reset, is recorded in
`violations`: a well-behaved client never makes one.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer, json_response

TOKEN = "bsk_live_fake_butterstack_key"
READ_ONLY_TOKEN = "bsk_live_fake_read_only_key"
PROJECT = "proj_abc123"
OTHER_PROJECT = "proj_def456"
PUBLIC = "https://app.butterstack.com"
PLATFORMS = ("win64", "linux", "mac", "ps5", "xsx", "switch", "android", "ios")
CONFIGURATIONS = ("debug", "development", "test", "shipping")
BUILD_STATUSES = ("pending", "running", "success", "failed")
V1 = "/v1"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response({"error": code, "message": message}, status, headers)


@dataclass
class Hit:
    """One request as the rate limiter saw it."""

    at: float
    path: str
    admitted: bool
    offset: int = 0  # the page asked for (`offset`), 0 when not paging


@dataclass
class Quota:
    window: int = -1
    used: int = 0
    recent: deque[float] = field(default_factory=deque)
    told_no_until: float = 0.0


class FakeButterStack(FakeServer):
    def __init__(
        self,
        *,
        limit: int = 60,
        window: int = 60,
        burst: int = 10,
        burst_window: float = 1.0,
        projects: tuple[str, ...] = (PROJECT, OTHER_PROJECT),
    ) -> None:
        self.limit = limit
        self.window = window
        self.burst = burst
        self.burst_window = burst_window
        self.projects = list(projects)
        self.builds: dict[str, dict[str, Any]] = {}  # in creation order
        self.deployments: dict[str, dict[str, Any]] = {}
        self.changelists: dict[int, dict[str, Any]] = {}
        self.triggered: list[dict[str, Any]] = []
        self.hits: list[Hit] = []
        self.violations: list[Hit] = []
        self._quotas: dict[str, Quota] = {}
        self._ids = itertools.count(1001)
        self._failures: list[int] = []
        self._after_trigger: list[int | str] = []
        self.newest_first = True
        """False: lists come oldest first (ButterStack documents no order)."""
        self.changelists_answering = asyncio.Event()
        """Cleared, changelist reads hang until it is set again."""
        self.changelists_answering.set()
        super().__init__()
        self.app.middlewares.append(self._guard)

    async def stop(self) -> None:
        self.changelists_answering.set()
        await super().stop()

    @property
    def url(self) -> str:
        return f"{super().url}{V1}"

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(f"{V1}/projects", self._projects)
        router.add_get(f"{V1}/projects/{{pid}}", self._project)
        router.add_get(f"{V1}/projects/{{pid}}/builds", self._list_builds)
        router.add_post(f"{V1}/projects/{{pid}}/builds", self._trigger)
        router.add_get(f"{V1}/builds/{{id}}", self._build)
        router.add_get(f"{V1}/projects/{{pid}}/deployments", self._list_deployments)
        router.add_get(f"{V1}/deployments/{{id}}", self._deployment)
        router.add_get(f"{V1}/projects/{{pid}}/changelists", self._list_changelists)
        router.add_get(f"{V1}/changelists/{{id}}", self._changelist)

    # --- helpers for tests -------------------------------------------------

    def add_build(
        self,
        project: str = PROJECT,
        *,
        platform: str = "win64",
        configuration: str = "development",
        branch: str = "main",
        changelist: str = "12345",
        status: str = "pending",
        **move: Any,
    ) -> dict[str, Any]:
        """Queue a build (as a developer or CI would) and move it to `status`."""
        build_id = f"build_{next(self._ids)}"
        self.builds[build_id] = {
            "id": build_id,
            "project_id": project,
            "status": "pending",
            "platform": platform,
            "configuration": configuration,
            "branch": branch,
            "changelist": changelist,
            "created_at": iso(time.time()),
            "started_at": None,
            "finished_at": None,
            "duration_seconds": None,
            "artifacts": [],
            "url": f"{PUBLIC}/projects/{project}/builds/{build_id}",
        }
        if status != "pending":
            self.move(build_id, status, **move)
        return self.builds[build_id]

    def move(
        self,
        build_id: str,
        status: str,
        *,
        started: float | None = None,
        duration: float | None = None,
        artifacts: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Move a build on: `running` starts its clock, `success`/`failed` stop it.

        `started` (epoch) backdates the start; `duration` sets how long it ran.
        """
        build = self.builds[build_id]
        now = time.time()
        build["status"] = status
        if status == "pending":
            return build
        if started is None:
            started = now - (duration or 0) if build["started_at"] is None else None
        if started is not None:
            build["started_at"] = iso(started)
        if status in ("success", "failed"):
            began = datetime.fromisoformat(build["started_at"].replace("Z", "+00:00"))
            finished = began.timestamp() + duration if duration is not None else now
            build["finished_at"] = iso(finished)
            build["duration_seconds"] = round(finished - began.timestamp())
        if status == "success":
            build["artifacts"] = artifacts if artifacts is not None else self._artifacts(build)
        return build

    def _artifacts(self, build: dict[str, Any]) -> list[dict[str, Any]]:
        name = f"Game-{build['platform'].capitalize()}-{build['configuration'].capitalize()}.zip"
        return [
            {
                "name": name,
                "size_bytes": 1234567890,
                "url": f"https://cdn.butterstack.com/artifacts/{build['id']}/{name}",
            }
        ]

    def add_deployment(
        self,
        build_id: str,
        *,
        platform: str = "steam",
        branch: str = "beta",
        status: str = "deploying",
    ) -> dict[str, Any]:
        deployment_id = f"deploy_{next(self._ids)}"
        self.deployments[deployment_id] = {
            "id": deployment_id,
            "build_id": build_id,
            "project_id": self.builds[build_id]["project_id"],
            "platform": platform,
            "status": status,
            "branch": branch,
            "deployed_at": iso(time.time()),
        }
        return self.deployments[deployment_id]

    def set_deployment(self, deployment_id: str, status: str) -> dict[str, Any]:
        self.deployments[deployment_id].update(status=status, deployed_at=iso(time.time()))
        return self.deployments[deployment_id]

    def add_changelist(
        self, number: int, author: str, description: str, files: list[tuple[str, str]] = ()
    ) -> dict[str, Any]:
        self.changelists[number] = {
            "id": f"cl_{number}",
            "number": number,
            "author": author,
            "description": description,
            "submitted_at": iso(time.time() - 3600),
            "files": [{"path": path, "action": action} for path, action in files],
        }
        return self.changelists[number]

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these server errors (counted against the quota)."""
        self._failures.extend(statuses)

    def fail_after_trigger(self, *answers: int | str) -> None:
        """Start the next builds, then answer with these statuses (a proxy's 502/504) or
        `"hang"` past the client's timeout: the build runs, the client does not learn it."""
        self._after_trigger.extend(answers)

    def exhaust(self, key: str = TOKEN) -> None:
        """Spend the rest of this window's quota, as another client of the same key would."""
        quota = self._quota(key, time.time())
        quota.used = self.limit

    def admitted_per_window(self) -> Counter[int]:
        """Requests let through, by window (epoch seconds // window)."""
        return Counter(int(hit.at // self.window) for hit in self.hits if hit.admitted)

    def reads(self, path_part: str) -> list[dict[str, str]]:
        """The query strings of admitted GETs whose path contains `path_part`."""
        return [c.query for c in self.find("GET", path_part)]

    # --- rate limit and auth -------------------------------------------------

    def _quota(self, key: str, now: float) -> Quota:
        quota = self._quotas.setdefault(key, Quota())
        window = int(now // self.window)
        if quota.window != window:
            quota.window, quota.used = window, 0
        return quota

    def _admit(self, key: str, request: web.Request) -> tuple[bool, dict[str, str]]:
        now = time.time()
        quota = self._quota(key, now)
        while quota.recent and quota.recent[0] <= now - self.burst_window:
            quota.recent.popleft()
        admitted = quota.used < self.limit and len(quota.recent) < self.burst
        if admitted:
            quota.used += 1
            quota.recent.append(now)
        offset = request.query.get("offset", "0")
        hit = Hit(now, request.path, admitted, int(offset) if offset.isdigit() else 0)
        self.hits.append(hit)
        if now < quota.told_no_until:
            self.violations.append(hit)
        reset = (quota.window + 1) * self.window
        remaining = self.limit - quota.used
        if not admitted or remaining == 0:
            quota.told_no_until = reset
        return admitted, {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        admitted, headers = self._admit(key, request)
        if key not in (TOKEN, READ_ONLY_TOKEN):
            return error(401, "unauthorized", "Invalid or missing API key", headers)
        if not admitted:
            return error(
                429,
                "rate_limited",
                f"Rate limit exceeded: {self.limit} requests per minute",
                headers,
            )
        if self._failures:
            return error(self._failures.pop(0), "server_error", "Internal server error", headers)
        if request.method != "GET" and key == READ_ONLY_TOKEN:
            return error(403, "forbidden", "Token lacks required permissions", headers)
        response = await handler(request)
        response.headers.update(headers)
        return response

    # --- routes --------------------------------------------------------------

    def _known_project(self, request: web.Request) -> web.Response | None:
        if request.match_info["pid"] not in self.projects:
            return error(404, "not_found", "Project not found")
        return None

    def _page(self, request: web.Request, entries: list[dict[str, Any]]) -> Any:
        """Newest first (unless told otherwise), `limit` (1-100, default 20) from `offset`;
        or an error answer."""
        try:
            limit = int(request.query.get("limit", "20"))
            offset = int(request.query.get("offset", "0"))
        except ValueError:
            return error(400, "bad_request", "limit and offset must be integers")
        if not 1 <= limit <= 100 or offset < 0:
            return error(400, "bad_request", "limit must be between 1 and 100")
        ordered = list(reversed(entries)) if self.newest_first else list(entries)
        return ordered[offset : offset + limit]

    async def _projects(self, request: web.Request) -> web.Response:
        return json_response({"projects": [{"id": p, "name": p} for p in self.projects]})

    async def _project(self, request: web.Request) -> web.Response:
        if refusal := self._known_project(request):
            return refusal
        pid = request.match_info["pid"]
        return json_response({"id": pid, "name": pid, "engine": "unreal"})

    async def _list_builds(self, request: web.Request) -> web.Response:
        if refusal := self._known_project(request):
            return refusal
        status = request.query.get("status")
        if status is not None and status not in BUILD_STATUSES:
            return error(400, "bad_request", f"Unknown status {status!r}")
        pid = request.match_info["pid"]
        builds = [
            b
            for b in self.builds.values()
            if b["project_id"] == pid and (status is None or b["status"] == status)
        ]
        page = self._page(request, builds)
        return page if isinstance(page, web.Response) else json_response({"builds": page})

    async def _build(self, request: web.Request) -> web.Response:
        build = self.builds.get(request.match_info["id"])
        return json_response(build) if build else error(404, "not_found", "Build not found")

    async def _trigger(self, request: web.Request) -> web.Response:
        if refusal := self._known_project(request):
            return refusal
        if request.content_type != "application/json":
            return error(400, "bad_request", "Send a JSON body")
        body = await request.json()
        platform, configuration = body.get("platform"), body.get("configuration")
        if platform not in PLATFORMS:
            return error(400, "bad_request", f"Unknown platform '{platform}'")
        if configuration not in CONFIGURATIONS:
            return error(400, "bad_request", f"Unknown configuration '{configuration}'")
        changelist = str(body.get("changelist") or "latest")
        if changelist == "latest":
            changelist = str(max(self.changelists, default=1))
        elif not changelist.isdigit() or int(changelist) not in self.changelists:
            return error(400, "bad_request", f"Changelist {changelist} does not exist")
        self.triggered.append(body)
        build = self.add_build(
            request.match_info["pid"],
            platform=platform,
            configuration=configuration,
            changelist=changelist,
        )
        if self._after_trigger:
            answer = self._after_trigger.pop(0)
            if answer == "hang":
                await asyncio.sleep(3600)
            return error(int(answer), "bad_gateway", "Upstream timed out")
        return json_response(build, 201)

    async def _list_deployments(self, request: web.Request) -> web.Response:
        if refusal := self._known_project(request):
            return refusal
        pid = request.match_info["pid"]
        deployments = [d for d in self.deployments.values() if d["project_id"] == pid]
        page = self._page(request, deployments)
        return page if isinstance(page, web.Response) else json_response({"deployments": page})

    async def _deployment(self, request: web.Request) -> web.Response:
        found = self.deployments.get(request.match_info["id"])
        return json_response(found) if found else error(404, "not_found", "Deployment not found")

    async def _list_changelists(self, request: web.Request) -> web.Response:
        if refusal := self._known_project(request):
            return refusal
        page = self._page(request, [self.changelists[n] for n in sorted(self.changelists)])
        return page if isinstance(page, web.Response) else json_response({"changelists": page})

    async def _changelist(self, request: web.Request) -> web.Response:
        await self.changelists_answering.wait()
        identifier = request.match_info["id"]
        number = identifier.removeprefix("cl_")
        found = self.changelists.get(int(number)) if number.isdigit() else None
        if found is None or not identifier.startswith("cl_"):
            return error(404, "not_found", "Changelist not found")
        return json_response(found)
