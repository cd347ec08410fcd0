"""Running a command the same way for every platform, failures included.

Adapters call `execute` and always get a `Reply` back: a handler's
`UserError` becomes its message, anything unexpected becomes a short apology
(with the traceback in the log, never in the reply).
"""

from __future__ import annotations

import logging

from bot.commands import CommandSpec
from bot.errors import UserError
from bot.models import Invocation, Reply

log = logging.getLogger(__name__)

ADMIN_ONLY = "Only server admins can use /{name}."
UNEXPECTED = "Something went wrong while running /{name}. It has been logged; please try again."


def error_reply(message: str) -> Reply:
    return Reply(text=f"⚠️ {message}", ephemeral=True)


async def execute(spec: CommandSpec, ctx: Invocation) -> Reply:
    """Run `spec`'s handler with `ctx.options`, mapping every failure to a reply."""
    if spec.admin and not ctx.is_admin:
        return error_reply(ADMIN_ONLY.format(name=spec.name))
    try:
        return await spec.handler(ctx, **ctx.options)
    except UserError as error:
        log.info("/%s for %s:%s: %s", spec.name, ctx.platform, ctx.user.id, error.message)
        return error_reply(error.message)
    except Exception:
        log.exception("/%s failed for %s:%s", spec.name, ctx.platform, ctx.user.id)
        return error_reply(UNEXPECTED.format(name=spec.name))
