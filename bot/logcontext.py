"""What a log line was about: the source, service, platform, command and delivery
bound where the work began.

Work binds its context where it starts (a webhook received, a source's router,
a delivery to a channel, a command run, a poller's reading, a submission
retried) with `bound(...)`; `BindContext` copies it onto every record logged
meanwhile, by Herald or by a library it called. It lives in a context
variable, so each asyncio task sees its own, and a task started inside a
bound block inherits it.

Only bounded identifiers belong here (a service's name, a platform's, a
command's, a delivery key such as `b12:card`): never text a user wrote and
never a secret, since every line carries it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

FIELDS = ("source", "service", "platform", "command", "delivery")
"""The names a context may bind, in the order a text line shows them."""

_context: ContextVar[Mapping[str, str]] = ContextVar("log context", default=MappingProxyType({}))


@contextmanager
def bound(
    *,
    source: str | None = None,
    service: str | None = None,
    platform: str | None = None,
    command: str | None = None,
    delivery: str | None = None,
) -> Iterator[None]:
    """Add these fields to the context of what is logged inside the block (and of the
    tasks started in it); the names are fixed so nothing else slips in."""
    given = {
        "source": source,
        "service": service,
        "platform": platform,
        "command": command,
        "delivery": delivery,
    }
    fields = {name: value for name, value in given.items() if value is not None}
    token = _context.set(MappingProxyType({**_context.get(), **fields}))
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, str]:
    """The fields bound at this point."""
    return dict(_context.get())


def describe(record: logging.LogRecord) -> str:
    """A record's context in brief, `[source=hacknplan delivery=b12:card]`, or ""."""
    shown = [f"{name}={getattr(record, name)}" for name in FIELDS if hasattr(record, name)]
    return f" [{' '.join(shown)}]" if shown else ""


class BindContext(logging.Filter):
    """Copies the bound fields onto each record (a field the call passed as `extra` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if name not in record.__dict__:
                setattr(record, name, value)
        return True
