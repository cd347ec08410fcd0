"""Discord modals built from a command's parameters, and the values a submitted one carries.

A command run without its required options, or from a message's context menu,
opens a modal with the same fields: text options become text inputs, options
with choices become select menus, file options a file upload (Discord allows
at most five). The modal's custom id names the command (and the message it
was opened on), so a form submitted after a restart still reaches the right
command with everything the user typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.commands import Choice, CommandSpec, OptionKind, Param
from bot.forms import form_params
from bot.models import Attachment
from bot.platforms import form_fields
from bot.text import truncate

FORM_PREFIX = "herald:form:"
TEXT_INPUT_LIMIT = 4000
TITLE_LIMIT = 45
LABEL_LIMIT = 45
DESCRIPTION_LIMIT = 100
SELECT_OPTIONS_LIMIT = 25
CUSTOM_ID_LIMIT = 100
MAX_FIELDS = 5


@dataclass(frozen=True, slots=True)
class FormId:
    """What a modal's custom id carries: a token for extras kept in memory, the
    command, and the message a context menu was used on."""

    token: str
    command: str
    channel_id: str | None = None
    message_id: str | None = None

    def encode(self) -> str:
        parts = [self.token, self.command]
        if self.channel_id and self.message_id:
            parts += [self.channel_id, self.message_id]
        encoded = FORM_PREFIX + ":".join(parts)
        if len(encoded) > CUSTOM_ID_LIMIT:
            raise ValueError(f"form id too long for Discord: {encoded!r}")
        return encoded

    @classmethod
    def decode(cls, custom_id: str) -> FormId | None:
        parts = custom_id.removeprefix(FORM_PREFIX).split(":")
        if not custom_id.startswith(FORM_PREFIX) or len(parts) not in (2, 4):
            return None
        channel_id, message_id = (parts[2], parts[3]) if len(parts) == 4 else (None, None)
        return cls(parts[0], parts[1], channel_id, message_id)


def build_form(
    spec: CommandSpec,
    form_id: FormId,
    title: str,
    values: Mapping[str, Any],
    choices: Mapping[str, Sequence[Choice]],
) -> discord.ui.Modal:
    """A modal for `spec`, prefilled with `values`; `choices` adds live choices per option.

    Built in the language of the person it is for (labels, descriptions, choices)."""
    modal = discord.ui.Modal(title=truncate(title, TITLE_LIMIT), custom_id=form_id.encode())
    for param in form_params(spec, choices, MAX_FIELDS):
        options = form_fields.choices(param, choices)
        modal.add_item(
            discord.ui.Label(
                text=truncate(form_fields.label(param), LABEL_LIMIT),
                description=truncate(form_fields.hint(param), DESCRIPTION_LIMIT),
                component=_field(param, values.get(param.name), options),
            )
        )
    return modal


def _field(param: Param, value: Any, options: list[Choice]) -> discord.ui.Item[Any]:
    if options:
        return discord.ui.Select(
            custom_id=param.name,
            options=[
                discord.SelectOption(
                    label=truncate(c.name, 100),
                    value=str(c.value)[:100],
                    default=value is not None and str(c.value) == str(value),
                )
                for c in options[:SELECT_OPTIONS_LIMIT]
            ],
            min_values=1 if param.required else 0,
            max_values=1,
            required=param.required,
        )
    if param.kind is OptionKind.ATTACHMENT:
        return discord.ui.FileUpload(
            custom_id=param.name,
            required=param.required,
            min_values=1 if param.required else 0,
            max_values=max(1, param.many),
        )
    limit = min(param.max_length or TEXT_INPUT_LIMIT, TEXT_INPUT_LIMIT)
    return discord.ui.TextInput(
        custom_id=param.name,
        style=discord.TextStyle.paragraph if param.paragraph else discord.TextStyle.short,
        default=truncate(str(value), limit) if value not in (None, "") else None,
        required=param.required,
        max_length=limit,
    )


def submitted_values(data: Mapping[str, Any], spec: CommandSpec) -> dict[str, Any]:
    """The raw option values in a MODAL_SUBMIT interaction's `data`."""
    resolved = (data.get("resolved") or {}).get("attachments") or {}
    found: dict[str, Any] = {}

    def walk(components: Sequence[Mapping[str, Any]]) -> None:
        for component in components:
            walk(component.get("components") or [])
            if isinstance(component.get("component"), Mapping):
                walk([component["component"]])
            custom_id = component.get("custom_id")
            if not custom_id:
                continue
            if component.get("type") == discord.ComponentType.text_input.value:
                found[custom_id] = component.get("value") or ""
            elif component.get("type") == discord.ComponentType.file_upload.value:
                found[custom_id] = [
                    _attachment(resolved[key])
                    for key in component.get("values") or []
                    if key in resolved
                ]
            elif "values" in component:
                found[custom_id] = next(iter(component["values"] or []), None)

    walk(data.get("components") or [])
    for param in spec.params:
        value = found.get(param.name)
        if isinstance(value, list) and not param.is_list:
            found[param.name] = value[0] if value else None
    return found


def _attachment(data: Mapping[str, Any]) -> Attachment:
    return Attachment(
        filename=str(data.get("filename") or "file"),
        url=str(data.get("url") or ""),
        size=int(data.get("size") or 0),
        content_type=data.get("content_type"),
    )
