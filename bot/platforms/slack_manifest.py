"""The Slack app manifest, made from the loaded commands so it never drifts from them.

`python -m bot slack-manifest` prints it (Socket Mode); with `--url
https://herald.example.com` it points slash commands and interactivity at
`/slack/events` there instead (HTTP mode). Paste it into "Create an app >
From an app manifest".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bot.commands import CommandSpec
from bot.platforms.slack import EVENTS_PATH, menu_callback

BOT_SCOPES = [
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:history",
    "groups:history",
    "im:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
]


def manifest(commands: Iterable[CommandSpec], url: str | None = None) -> dict[str, Any]:
    specs = sorted(commands, key=lambda s: s.name)
    endpoint = f"{url.rstrip('/')}{EVENTS_PATH}" if url else None
    slash = []
    for top in sorted({s.path[0] for s in specs}):
        group = [s for s in specs if s.path[0] == top]
        entry: dict[str, Any] = {
            "command": f"/{top}",
            "description": _describe(group),
            "usage_hint": _hint(group)[:1000],
            "should_escape": True,
        }
        if endpoint:
            entry["url"] = endpoint
        slash.append(entry)
    shortcuts = [
        {
            "name": s.message_menu,
            "type": "message",
            "callback_id": menu_callback(s),
            "description": s.description,
        }
        for s in specs
        if s.message_menu
    ]
    interactivity: dict[str, Any] = {"is_enabled": True}
    if endpoint:
        interactivity["request_url"] = endpoint
    return {
        "display_information": {
            "name": "Herald",
            "description": "Feedback, tickets and build news between your game's tools and chat",
            "background_color": "#2c2d30",
        },
        "features": {
            "bot_user": {"display_name": "Herald", "always_online": True},
            "slash_commands": slash,
            "shortcuts": shortcuts,
        },
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": {
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": endpoint is None,
            "token_rotation_enabled": False,
        },
    }


def _describe(group: list[CommandSpec]) -> str:
    if len(group) == 1 and len(group[0].path) == 1:
        return group[0].description
    return f"{group[0].path[0].capitalize()}: " + ", ".join(" ".join(s.path[1:]) for s in group)


def _hint(group: list[CommandSpec]) -> str:
    return " | ".join(s.usage().removeprefix(f"Usage: /{s.path[0]}").strip() for s in group)


def to_yaml(value: Any, indent: int = 0) -> str:
    """A small YAML writer for the manifest: maps, lists and JSON-quoted scalars."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, dict) and item:
                first, *rest = to_yaml(item, indent + 1).splitlines()
                lines.append(f"{pad}- {first.strip()}")
                lines.extend(rest)
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return "\n".join(lines)


def _scalar(value: Any) -> str:
    """JSON scalars (and empty collections) are valid YAML flow values."""
    return json.dumps(value, ensure_ascii=False)
