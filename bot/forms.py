"""What a form asks for, and how a button names the action it runs.

A command run without its required options opens a form (a Discord modal, a
Slack modal, the console's questions) with the same fields; each platform
renders the options chosen here its own way. A button's id carries the cog
action and its argument, so a press after a restart still finds its handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.commands import Choice, CommandSpec, OptionKind, Param
from bot.models import ActionButton

ACTION_PREFIX = "herald:act:"
FORM_KINDS = frozenset(
    {OptionKind.TEXT, OptionKind.INTEGER, OptionKind.NUMBER, OptionKind.ATTACHMENT}
)


def askable(
    param: Param, choices: Sequence[Choice], kinds: frozenset[OptionKind] = FORM_KINDS
) -> bool:
    return param.kind in kinds or bool(choices)


def form_capable(spec: CommandSpec, kinds: frozenset[OptionKind] = FORM_KINDS) -> bool:
    """True when a form can ask for every required option of `spec`."""
    return all(askable(p, p.choices, kinds) for p in spec.params if p.required)


def form_params(
    spec: CommandSpec,
    choices: Mapping[str, Sequence[Choice]],
    limit: int,
    kinds: frozenset[OptionKind] = FORM_KINDS,
) -> list[Param]:
    """The options a form asks for: required ones first, then optional ones, at most `limit`."""
    fitting = [p for p in spec.params if askable(p, choices.get(p.name, p.choices), kinds)]
    ordered = [p for p in fitting if p.required] + [p for p in fitting if not p.required]
    return ordered[:limit]


def action_id(button: ActionButton) -> str:
    """`herald:act:<cog>:<name>:<argument>`: what a platform button carries."""
    return f"{ACTION_PREFIX}{button.action}:{button.argument}"


def parse_action_id(custom_id: str) -> tuple[str, str] | None:
    """`herald:act:<cog>:<name>:<argument>` -> (`"<cog>:<name>"`, argument)."""
    if not custom_id.startswith(ACTION_PREFIX):
        return None
    parts = custom_id.removeprefix(ACTION_PREFIX).split(":", 2)
    if len(parts) != 3:
        return None
    return f"{parts[0]}:{parts[1]}", parts[2]
