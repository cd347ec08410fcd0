"""Unexpected errors reported to Sentry when `SENTRY_DSN` is set (`pip install herald[sentry]`).

An event is whatever Herald logs at ERROR or above: every command, delivery,
router, poller and background task that fails unexpectedly logs its traceback
with `log.exception`, so Sentry sees exactly what the log shows. Lines logged
at INFO and above become the event's breadcrumbs. Before an event leaves, every
string in it, breadcrumbs included (they only ever leave inside an event), goes
through the log redactor (the configured secrets, in every encoding it knows),
and the log context bound at that moment becomes its tags. Local variables,
request bodies and personal data are not collected, no traces are sampled, and
outgoing requests get no tracing headers.

Without the DSN the SDK is not even imported, and nothing is sent.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.errors import StartError
from bot.logcontext import current
from bot.logs import redactor

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

log = logging.getLogger(__name__)

SDK_MISSING = "SENTRY_DSN is set, but sentry-sdk is not installed: pip install 'herald[sentry]'"
FLUSH_SECONDS = 2.0


def sentry_sdk_for(settings: Settings) -> ModuleType | None:
    """The Sentry SDK when `SENTRY_DSN` is set, else None; `StartError` when it is set
    but the SDK is not installed (Herald should not run without the reports it was
    told to send)."""
    if settings.sentry_dsn is None:
        return None
    try:
        import sentry_sdk
    except ImportError:
        raise StartError(SDK_MISSING) from None
    return sentry_sdk


def start_error_reports(settings: Settings) -> bool:
    """Report unexpected errors to Sentry if `SENTRY_DSN` is set; whether it is."""
    sentry_sdk = sentry_sdk_for(settings)
    if sentry_sdk is None or settings.sentry_dsn is None:
        return False
    from sentry_sdk.integrations.atexit import AtexitIntegration
    from sentry_sdk.integrations.dedupe import DedupeIntegration
    from sentry_sdk.integrations.excepthook import ExcepthookIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.modules import ModulesIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment,
        release=_release(),
        # No personal data, no request bodies, no local variables (they hold what users
        # typed, and tokens): what replaces `send_default_pii=False` in this SDK.
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        trace_propagation_targets=[],
        # Only what is listed: no integration patches the HTTP clients Herald shares.
        default_integrations=False,
        integrations=[
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
            DedupeIntegration(),
            ExcepthookIntegration(),
            ModulesIntegration(),
            AtexitIntegration(callback=_still_pending),
        ],
        before_send=_before_send,
    )
    log.info("unexpected errors are reported to Sentry")
    return True


def stop_error_reports() -> None:
    """Send what is queued (within FLUSH_SECONDS) and close the client; nothing when off."""
    sentry_sdk = sys.modules.get("sentry_sdk")
    if sentry_sdk is None:
        return
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=FLUSH_SECONDS, callback=_still_pending)
    sentry_sdk.get_global_scope().set_client(None)


def _before_send(event: Event, hint: Hint) -> Event | None:
    """The event with every secret masked and the bound log context as tags.

    An exception here makes the SDK drop the event: unsent rather than unmasked.
    """
    tags = {**dict(event.get("tags") or {}), **current()}
    masked: Event = redactor.redact_all({**event, "tags": tags})
    return masked


def _still_pending(pending: int, timeout: float) -> None:
    """Said through the log (the SDK's default prints to stderr, which must stay JSON)."""
    log.warning("%d error report(s) still being sent; waiting up to %g s", pending, timeout)


def _release() -> str | None:
    try:
        return f"herald@{version('herald')}"
    except PackageNotFoundError:
        return None
