"""Running a command (or a button's action) the same way for every platform, failures included.

Adapters call `execute` or `execute_action` and always get a `Reply` back: a
handler's `UserError` becomes its message, anything unexpected becomes a short
apology (with the traceback in the log, never in the reply). Each run is
counted by its command's name (a button by its action, `cog:name`) and outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.cog import find_action
from bot.commands import CommandSpec
from bot.errors import UserError
from bot.i18n import N_, _, speaking
from bot.logcontext import bound
from bot.metrics import ERROR, OK, USER_ERROR
from bot.models import Invocation, Reply
from bot.text import quote_block

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

ADMIN_ONLY = N_("Only admins can use /{name}.")
UNEXPECTED_COMMAND = N_(
    "Something went wrong while running /{name}. It has been logged; please try again."
)
UNEXPECTED_BUTTON = N_(
    "Something went wrong while running that button ({name}). It has been logged; please try again."
)
ECHO_LIMIT = 1500
UNKNOWN_ACTION = N_("This button no longer works; please run the command again.")


def error_reply(message: str) -> Reply:
    return Reply(text=f"⚠️ {message}", ephemeral=True)


async def execute(spec: CommandSpec, ctx: Invocation, core: Core) -> Reply:
    """Run `spec`'s handler with `ctx.options`, mapping every failure to a reply."""
    metrics = core.metrics
    if spec.admin and not ctx.is_admin:
        metrics.command(spec.name, ctx.platform, USER_ERROR)
        with speaking(ctx.locale):
            return error_reply(_(ADMIN_ONLY, name=spec.name))
    await _channel_language(ctx, core)
    with bound(command=spec.name, platform=ctx.platform), speaking(ctx.locale):
        reply, outcome = await _guarded(
            f"/{spec.name}",
            (UNEXPECTED_COMMAND, spec.name),
            ctx,
            lambda: spec.handler(ctx, **ctx.options),
        )
    metrics.command(spec.name, ctx.platform, outcome)
    return reply


async def execute_action(ref: str, argument: str, ctx: Invocation, core: Core) -> Reply:
    """Run the action an `ActionButton` names (`"<cog>:<name>"`), mapping failures to a reply.

    An unknown action is not counted: its name comes from the request.
    """
    metrics = core.metrics
    handler = find_action(core.cogs, ref)
    if handler is None:
        log.info("button for unknown action %s pressed by %s:%s", ref, ctx.platform, ctx.user.id)
        with speaking(ctx.locale):
            return error_reply(_(UNKNOWN_ACTION))
    await _channel_language(ctx, core)
    # A known action's name: bounded.
    with bound(command=ref, platform=ctx.platform), speaking(ctx.locale):
        reply, outcome = await _guarded(
            f"that button ({ref})",
            (UNEXPECTED_BUTTON, ref),
            ctx,
            lambda: handler(ctx, argument),
        )
    metrics.command(ref, ctx.platform, outcome)
    return reply


async def _channel_language(ctx: Invocation, core: Core) -> None:
    """Tell the handler what the channel speaks, for the cards it posts there."""
    if ctx.channel_id is not None:
        ctx.channel_language = await core.channel_language(ctx.platform, ctx.channel_id)


async def _guarded(
    what: str,
    apology: tuple[str, str],
    ctx: Invocation,
    call: Callable[[], Awaitable[Reply]],
) -> tuple[Reply, str]:
    """The reply, and the outcome to count: `ok`, `user_error` or `error`.

    `what` names the run in the log; `apology` (a message and the `{name}` it
    fills) is the reply to a failure.
    """
    try:
        return await call(), OK
    except UserError as error:
        log.info("%s for %s:%s: %s", what, ctx.platform, ctx.user.id, error.message)
        return error_reply(error.message), USER_ERROR
    except Exception:
        log.exception("%s failed for %s:%s", what, ctx.platform, ctx.user.id)
        message, name = apology
        return error_reply(_(message, name=name)), ERROR


def echo_reply(message: str, user_text: str) -> Reply:
    """An error with the user's own text shown back, so what they typed is not lost."""
    if not user_text.strip():
        return error_reply(message)
    return Reply(text=f"⚠️ {message}{shown_back(user_text)}", ephemeral=True)


def shown_back(user_text: str, intro: str | None = None) -> str:
    """The user's own text quoted on lines of its own after `intro` (in the current
    language), for a message that would otherwise lose what they typed."""
    intro = intro or _("Here is what you wrote, so you can fix it and send it again:")
    return f"\n{intro}\n{quote_block(user_text, ECHO_LIMIT)}"
