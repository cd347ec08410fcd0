"""Slack modals built from a command's options, and the values a submitted one carries.

A slash command given without its required options, or a message shortcut,
opens a modal (`views.open`) with the same fields as on Discord: text inputs,
number inputs and selects for options with choices. Files cannot be passed
through a Slack modal to Herald, so file options are left out; the files
shared in a shortcut's message are remembered instead, and fetched from
Slack's file host with the bot token. The view's `private_metadata` carries
the command and where it was used, so the submission knows where to answer
even after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.commands import Choice, CommandSpec, OptionKind, Param
from bot.forms import form_params
from bot.i18n import _
from bot.models import Attachment
from bot.platforms import form_fields
from bot.text import truncate

FORM_CALLBACK = "herald:form"
MAX_FIELDS = 10
TITLE_LIMIT = 24
LABEL_LIMIT = 2000
HINT_LIMIT = 2000
TEXT_INPUT_LIMIT = 3000
OPTIONS_LIMIT = 100
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
SLACK_KINDS = frozenset({OptionKind.TEXT, OptionKind.INTEGER, OptionKind.NUMBER})
SLACK_FILE_HOST = "files.slack.com"
MAX_FILES = 3


@dataclass(frozen=True, slots=True)
class FormContext:
    """What the modal remembers: the command, the channel, and the message if any."""

    command: str
    channel_id: str | None
    message_ts: str | None = None
    message_url: str | None = None
    message_author: str | None = None
    files: list[dict[str, Any]] | None = None

    def encode(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def decode(cls, metadata: str) -> FormContext | None:
        try:
            data = json.loads(metadata)
            return cls(**data)
        except (ValueError, TypeError):
            return None


def shared_files(message: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The files shared in a message, as a form remembers them (the first few)."""
    found = []
    for file in message.get("files") or []:
        url = file.get("url_private_download") or file.get("url_private")
        if isinstance(url, str) and url:
            size = file.get("size")
            found.append(
                {
                    "name": str(file.get("name") or "file"),
                    "url": url,
                    "size": size if isinstance(size, int) else 0,
                    "type": file.get("mimetype"),
                }
            )
    return found[:MAX_FILES] or None


def file_attachments(
    files: Sequence[Mapping[str, Any]], token: str, api_url: str
) -> tuple[Attachment, ...]:
    """Remembered files, downloadable with the bot token: only from Slack's file host
    (or the Web API's own), so the token never goes anywhere else."""
    hosts = {SLACK_FILE_HOST, (urlsplit(api_url).hostname or "").lower()}
    return tuple(
        Attachment(
            str(f["name"]),
            str(f["url"]),
            int(f["size"]),
            f.get("type"),
            auth=f"Bearer {token}",
        )
        for f in files
        if (urlsplit(str(f["url"])).hostname or "").lower() in hosts
    )


def slack_params(spec: CommandSpec, choices: Mapping[str, Sequence[Choice]]) -> list[Param]:
    return form_params(spec, choices, MAX_FIELDS, SLACK_KINDS)


def build_view(
    spec: CommandSpec,
    context: FormContext,
    title: str,
    values: Mapping[str, Any],
    choices: Mapping[str, Sequence[Choice]],
) -> dict[str, Any]:
    """A modal view for `spec`, prefilled with `values`, in the language spoken now."""
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": context.encode(),
        "title": _plain(truncate(title, TITLE_LIMIT)),
        "submit": _plain(_("Send")),
        "close": _plain(_("Cancel")),
        "blocks": [
            _input(param, values.get(param.name), form_fields.choices(param, choices))
            for param in slack_params(spec, choices)
        ],
    }


def _input(param: Param, value: Any, options: list[Choice]) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": param.name,
        "optional": not param.required,
        "label": _plain(truncate(form_fields.label(param), LABEL_LIMIT)),
        "hint": _plain(truncate(form_fields.hint(param), HINT_LIMIT)),
        "element": _element(param, value, options),
    }
    return block


def _element(param: Param, value: Any, options: list[Choice]) -> dict[str, Any]:
    if options:
        rendered = [_option(c) for c in options[:OPTIONS_LIMIT]]
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": "value",
            "options": rendered,
        }
        chosen = [o for o, c in zip(rendered, options, strict=False) if str(c.value) == str(value)]
        if chosen:
            element["initial_option"] = chosen[0]
        return element
    if param.kind in (OptionKind.INTEGER, OptionKind.NUMBER):
        element = {
            "type": "number_input",
            "action_id": "value",
            "is_decimal_allowed": param.kind is OptionKind.NUMBER,
        }
        if param.min_value is not None:
            element["min_value"] = f"{param.min_value:g}"
        if param.max_value is not None:
            element["max_value"] = f"{param.max_value:g}"
    else:
        limit = min(param.max_length or TEXT_INPUT_LIMIT, TEXT_INPUT_LIMIT)
        element = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": param.paragraph,
            "max_length": limit,
        }
    if value not in (None, ""):
        element["initial_value"] = truncate(str(value), TEXT_INPUT_LIMIT)
    return element


def _option(choice: Choice) -> dict[str, Any]:
    return {
        "text": _plain(truncate(choice.name, OPTION_TEXT_LIMIT)),
        "value": str(choice.value)[:OPTION_VALUE_LIMIT],
    }


def submitted_values(state: Mapping[str, Any]) -> dict[str, Any]:
    """The raw option values in a `view_submission`'s `view.state.values`."""
    found: dict[str, Any] = {}
    for block_id, actions in (state.get("values") or {}).items():
        element = (actions or {}).get("value") or {}
        if "selected_option" in element:
            option = element["selected_option"]
            found[block_id] = option.get("value") if option else None
        else:
            found[block_id] = element.get("value")
    return found


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text or " ", "emoji": True}
