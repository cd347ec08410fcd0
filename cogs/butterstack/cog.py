"""The ButterStack cog: build and deployment watching, and developer commands."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from bot.cog import Cog
from bot.commands import Choice, CommandSpec, Option, command
from bot.errors import ServiceError, UserError
from bot.i18n import N_, _
from bot.models import ActionButton, Invocation, LinkButton, Reply, Role
from bot.ratelimit import RateLimiter
from bot.text import escape
from cogs.butterstack.cards import build_card, builds_card, changelist_card, deployments_card
from cogs.butterstack.client import ButterStackClient, Changelists, read_error
from cogs.butterstack.durations import TypicalDurations
from cogs.butterstack.events import SOURCE, source
from cogs.butterstack.models import FAILED, PENDING, RUNNING, SUCCESS, Build
from cogs.butterstack.poller import Poller
from cogs.butterstack.settings import ButterStackSettings

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

# ButterStack allows bursts of 10 requests a second; a bucket of 5 refilled at
# the plan's rate never sends more than 6 in any second, whatever the plan.
BURST = 5
BUILD_ROLE = "butterstack.build-role"
MAX_CHOICES = 25  # Discord's limit on an option's choices

Project = Annotated[
    str | None,
    Option(N_("ButterStack project (default: the first)"), max_length=100, label=N_("Project")),
]
Limit = Annotated[int, Option(N_("How many to show"), min_value=1, max_value=25, label=N_("Limit"))]


def _scope(ctx: Invocation) -> str:
    """Where per-server settings live: one Discord server or Slack workspace."""
    return f"{ctx.platform}:{ctx.guild_id or 'direct'}"


class ButterStack(Cog):
    """Builds and deployments from ButterStack: watched, announced, and at hand."""

    name = "butterstack"

    def __init__(self, core: Core, settings: ButterStackSettings) -> None:
        self.core = core
        self.settings = settings
        self.projects = list(settings.project_ids)
        http = core.http(
            "ButterStack",
            settings.url,
            headers={
                "Authorization": f"Bearer {settings.token.get_secret_value()}",
                "Accept": "application/json",
            },
            timeout=settings.timeout_seconds,
            limiter=RateLimiter(rate=settings.rate_limit_per_minute, per=60.0, burst=BURST),
            read_error=read_error,
            auth_hint="BUTTERSTACK_TOKEN and BUTTERSTACK_PROJECT_IDS",
        )
        self.api = ButterStackClient(http)
        self.changelists = Changelists(self.api)
        self.durations = TypicalDurations(lambda: core.store)
        self.poller = Poller(
            self.api,
            lambda: core.store,
            lambda: core.coordination,
            core.announcements.submit,
            projects=self.projects,
            poll_seconds=settings.poll_seconds,
            rate_per_minute=settings.rate_limit_per_minute,
            changelists=self.changelists,
            durations=self.durations,
            succeeded=lambda: core.metrics.poller_succeeded(SOURCE),
        )
        core.announcements.add_source(source(self.projects, self.changelists))

    async def load(self) -> None:
        self.run_in_background(self.core, self.poller.run(), "butterstack-poller")

    def commands(self) -> list[CommandSpec]:
        """The commands, with a `project` option only when several projects are watched."""
        specs = super().commands()
        for spec in specs:
            param = spec.param("project")
            if param is None:
                continue
            index = spec.params.index(param)
            if len(self.projects) == 1:
                del spec.params[index]
            elif len(self.projects) <= MAX_CHOICES:
                choices = tuple(Choice(p, p) for p in self.projects)
                spec.params[index] = dataclasses.replace(param, choices=choices)
        return specs

    def _project(self, project: str | None) -> str:
        if project is None:
            return self.projects[0]
        if project not in self.projects:
            raise UserError(
                _(
                    "Herald watches {projects}; not {project}.",
                    projects=", ".join(self.projects),
                    project=project,
                )
            )
        return project

    async def _card(self, build: Build) -> Reply:
        changelist = await self.changelists.find(build.changelist) if build.changelist else None
        typical = None
        if build.status == RUNNING and build.project_id:
            typical = await self.durations.typical(build.project_id, build.platform)
        card = build_card(build, now=datetime.now(UTC), changelist=changelist, typical=typical)
        buttons: list[LinkButton | ActionButton] = (
            [LinkButton(_("Open in ButterStack"), build.url)] if build.url else []
        )
        return Reply(card=card, buttons=buttons)

    @command("build list", N_("Recent builds, newest first"))
    async def build_list(
        self,
        ctx: Invocation,
        status: Annotated[
            str | None,
            Option(
                N_("Only builds with this status"),
                choices=[
                    Choice(N_("pending"), PENDING),
                    Choice(N_("running"), RUNNING),
                    Choice(N_("success"), SUCCESS),
                    Choice(N_("failed"), FAILED),
                ],
                label=N_("Status"),
            ),
        ] = None,
        limit: Limit = 10,
        project: Project = None,
    ) -> Reply:
        chosen = self._project(project)
        builds = await self.api.builds(chosen, status=status, limit=limit)
        return Reply(card=builds_card(chosen, builds, status))

    @command("build status", N_("A build's status, changelist, progress and artifacts"))
    async def build_status(
        self,
        ctx: Invocation,
        build_id: Annotated[
            str,
            Option(N_("The build id, such as build_xyz789"), max_length=100, label=N_("Build id")),
        ],
    ) -> Reply:
        return await self._card(await self.api.build(build_id))

    @command("deploys", N_("Recent deployments, newest first"))
    async def deploys(self, ctx: Invocation, limit: Limit = 10, project: Project = None) -> Reply:
        chosen = self._project(project)
        deployments = await self.api.deployments(chosen, limit=limit)
        return Reply(card=deployments_card(chosen, deployments))

    @command("changelist", N_("A Perforce changelist: author, description and files"))
    async def changelist(
        self,
        ctx: Invocation,
        number: Annotated[
            int, Option(N_("The changelist number, such as 12345"), min_value=1, label=N_("Number"))
        ],
    ) -> Reply:
        found = await self.changelists.get(str(number))
        if found is None:
            raise UserError(_("ButterStack knows no changelist {number}.", number=number))
        return Reply(card=changelist_card(found))

    @command("build trigger", N_("Start a build"), ephemeral=True)
    async def build_trigger(
        self,
        ctx: Invocation,
        platform: Annotated[
            str, Option(N_("Target platform, such as win64"), max_length=50, label=N_("Platform"))
        ],
        configuration: Annotated[
            str,
            Option(
                N_("Build configuration, such as development or shipping"),
                max_length=50,
                label=N_("Configuration"),
            ),
        ],
        changelist: Annotated[
            str | None,
            Option(
                N_("Changelist to build (default: latest)"), max_length=50, label=N_("Changelist")
            ),
        ] = None,
        project: Project = None,
    ) -> Reply:
        await self._may_trigger(ctx)
        chosen = self._project(project)
        try:
            build = await self.api.trigger(chosen, platform, configuration, changelist or "latest")
        except ServiceError as error:
            if not error.ambiguous:
                raise
            # Never sent again by itself: a second build costs real machine time.
            log.warning("ButterStack build trigger in %s: outcome unknown", chosen)
            self.poller.poke(chosen)
            maybe = _(
                "⚠️ {reason} The build may or may not have started."
                " Check /build list before starting it again.",
                reason=error.message,
            )
            return Reply(text=maybe, ephemeral=True)
        log.info(
            "%s:%s started ButterStack build %s (%s %s) in %s",
            ctx.platform,
            ctx.user.id,
            build.id,
            platform,
            configuration,
            chosen,
        )
        self.poller.poke(chosen)
        reply = await self._card(build)
        reply.text = _(
            "Build {build} is queued; its card follows it in the channel.", build=escape(build.id)
        )
        reply.ephemeral = True
        return reply

    async def _may_trigger(self, ctx: Invocation) -> None:
        """Server admins may start builds, and members holding the configured role."""
        if ctx.is_admin:
            return
        stored = await self.core.store.get_setting(_scope(ctx), BUILD_ROLE)
        role = json.loads(stored) if stored else None
        if role is not None and role["id"] in ctx.roles:
            return
        if role is not None:
            raise UserError(
                _(
                    "Only members with the {role} role (or server admins) can start builds.",
                    role=escape(role["name"]),
                )
            )
        raise UserError(
            _(
                "Only server admins can start builds here. An admin can let a role do it with"
                " /herald config build-role."
            )
        )

    @command(
        "herald config build-role",
        N_("Choose the role whose members may start builds"),
        admin=True,
        ephemeral=True,
    )
    async def build_role(
        self,
        ctx: Invocation,
        role: Annotated[
            Role, Option(N_("Members with this role may use /build trigger"), label=N_("Role"))
        ],
    ) -> Reply:
        value = json.dumps({"id": role.id, "name": role.name})
        await self.core.store.set_setting(_scope(ctx), BUILD_ROLE, value)
        return Reply(
            text=_(
                "Members with the {role} role can now start builds with /build trigger.",
                role=escape(role.name),
            ),
            ephemeral=True,
        )
