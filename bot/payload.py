"""Reading vendors' JSON defensively: a missing or oddly typed field is simply absent.

Keys are looked up as written and, for PascalCase names, in camelCase too: a
vendor's webhook body may say `WorkItemId` where its REST API says
`workItemId`, and one reader serves both. Nothing here raises.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

_MISSING = object()


def get(value: Any, *path: str) -> Any:
    """`value[A][B]...` where each key may be PascalCase or camelCase; None if absent."""
    for name in path:
        if not isinstance(value, dict):
            return None
        found = value.get(name, _MISSING)
        if found is _MISSING:
            found = value.get(_camel(name))
        value = found
    return value


@functools.cache
def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def text(value: Any, *path: str) -> str | None:
    """A field as stripped text (numbers too); None when absent, empty or not a scalar."""
    value = get(value, *path)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        return str(value).strip() or None
    return None


def ident(value: Any, *path: str) -> str | None:
    """An id as text, when it is a plain number or string."""
    found = text(value, *path)
    return found if found and found.replace("-", "").isalnum() else None


def obj(value: Any, *path: str) -> dict[str, Any]:
    found = get(value, *path)
    return found if isinstance(found, dict) else {}


def objects(value: Any, *path: str) -> list[dict[str, Any]]:
    found = get(value, *path)
    return [v for v in found if isinstance(v, dict)] if isinstance(found, list) else []


def when(value: Any, *path: str) -> datetime | None:
    stamp = text(value, *path)
    if not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def names(value: Any, *path: str) -> list[str]:
    return [n for n in (text(v, "Name") for v in objects(value, *path)) if n]
