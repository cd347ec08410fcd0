"""Commands defined once, in their cog, and registered by every platform adapter.

A command is a cog method decorated with `@command`, whose parameters after the
invocation are annotated `Annotated[type, Option(...)]`. The signature is the
single definition: the Python type gives the option kind, a default makes it
optional, `Option` adds the description and limits. Adapters read the
resulting `CommandSpec`; `CommandSpec.bind` validates raw values the same way
for every platform, so a console user and a Discord user get the same answer.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, TypeVar, get_args, get_origin

from bot.errors import UserError
from bot.models import Attachment, ChannelRef, Invocation, Reply

Handler = Callable[..., Awaitable[Reply]]
AutocompleteHandler = Callable[[Invocation, str], Awaitable[list["Choice"]]]
F = TypeVar("F", bound=Callable[..., Any])

COMMAND_ATTR = "__herald_command__"


class OptionKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ATTACHMENT = "attachment"
    CHANNEL = "channel"


_KINDS: dict[type, OptionKind] = {
    str: OptionKind.TEXT,
    int: OptionKind.INTEGER,
    float: OptionKind.NUMBER,
    bool: OptionKind.BOOLEAN,
    Attachment: OptionKind.ATTACHMENT,
    ChannelRef: OptionKind.CHANNEL,
}


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value of an option, with the label people see."""

    name: str
    value: str | int | float


@dataclass(frozen=True, slots=True)
class Option:
    """Metadata for one command option, used inside `Annotated[...]`.

    `autocomplete` names a cog method `(ctx, current) -> list[Choice]`.
    `paragraph` asks modal-capable platforms for a multi-line input.
    `too_short` replaces the generic message when text is under `min_length`.
    """

    description: str
    min_length: int | None = None
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    choices: Sequence[Choice | str] = ()
    autocomplete: str | None = None
    paragraph: bool = False
    label: str | None = None
    too_short: str | None = None


@dataclass(frozen=True, slots=True)
class Param:
    """An option as adapters see it: kind, requiredness and limits resolved."""

    name: str
    kind: OptionKind
    description: str
    required: bool
    default: Any = None
    min_length: int | None = None
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    choices: tuple[Choice, ...] = ()
    autocomplete: str | None = None
    paragraph: bool = False
    label: str | None = None
    too_short: str | None = None

    @property
    def title(self) -> str:
        """A human label for forms and messages (`steps` -> `Steps`)."""
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """What `@command` records on the function, before the cog binds it."""

    name: str
    description: str
    ephemeral: bool
    admin: bool


@dataclass(slots=True)
class CommandSpec:
    """A command bound to its cog, ready for adapters to register."""

    name: str
    description: str
    params: list[Param]
    handler: Handler
    cog: str
    ephemeral: bool = False
    admin: bool = False
    autocompleters: dict[str, AutocompleteHandler] = field(default_factory=dict)

    @property
    def path(self) -> list[str]:
        """`"build trigger"` -> `["build", "trigger"]`: group then subcommand."""
        return self.name.split()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def bind(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Validate raw option values and return typed keyword arguments.

        Values may arrive typed (Discord) or as strings (console, Slack);
        anything missing, out of range or not a choice raises `UserError`
        with a sentence the user can act on.
        """
        unknown = sorted(set(raw) - {p.name for p in self.params})
        if unknown:
            raise UserError(f"/{self.name} has no option {', '.join(unknown)}. {self.usage()}")
        values: dict[str, Any] = {}
        for param in self.params:
            value = raw.get(param.name)
            if isinstance(value, str):
                value = value.strip()
            if value is None or value == "":
                if param.required:
                    raise UserError(f"Please give a {param.name}. {self.usage()}")
                values[param.name] = param.default
                continue
            values[param.name] = _check(param, value)
        return values

    def usage(self) -> str:
        parts = [f"/{self.name}"]
        for p in self.params:
            parts.append(f"{p.name}: …" if p.required else f"[{p.name}: …]")
        return "Usage: " + " ".join(parts)


def _check(param: Param, value: Any) -> Any:
    value = _coerce(param, value)
    if param.kind is OptionKind.TEXT:
        if param.min_length is not None and len(value) < param.min_length:
            raise UserError(
                param.too_short
                or f"The {param.name} is too short ({len(value)} characters);"
                f" it needs at least {param.min_length}."
            )
        if param.max_length is not None and len(value) > param.max_length:
            raise UserError(
                f"The {param.name} is too long ({len(value)} characters);"
                f" the limit is {param.max_length}."
            )
    if param.kind in (OptionKind.INTEGER, OptionKind.NUMBER):
        if param.min_value is not None and value < param.min_value:
            raise UserError(f"The {param.name} must be at least {param.min_value:g}.")
        if param.max_value is not None and value > param.max_value:
            raise UserError(f"The {param.name} must be at most {param.max_value:g}.")
    if param.choices:
        allowed = {str(c.value).lower(): c.value for c in param.choices}
        allowed.update({c.name.lower(): c.value for c in param.choices})
        if str(value).lower() not in allowed:
            names = ", ".join(str(c.value) for c in param.choices)
            raise UserError(f"The {param.name} must be one of: {names}.")
        value = allowed[str(value).lower()]
    return value


def _coerce(param: Param, value: Any) -> Any:
    if param.kind is OptionKind.INTEGER and not isinstance(value, int):
        try:
            return int(str(value))
        except ValueError:
            raise UserError(f"The {param.name} must be a whole number.") from None
    if param.kind is OptionKind.NUMBER and not isinstance(value, int | float):
        try:
            return float(str(value))
        except ValueError:
            raise UserError(f"The {param.name} must be a number.") from None
    if param.kind is OptionKind.BOOLEAN and isinstance(value, str):
        lowered = value.lower()
        if lowered not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
            raise UserError(f"The {param.name} must be yes or no.")
        return lowered in ("true", "yes", "on", "1")
    if param.kind is OptionKind.TEXT:
        return str(value)
    if param.kind is OptionKind.CHANNEL and isinstance(value, str):
        return ChannelRef(value.strip().removeprefix("<").removesuffix(">").lstrip("#"))
    return value


def command(
    name: str, description: str, *, ephemeral: bool = False, admin: bool = False
) -> Callable[[F], F]:
    """Mark a cog method as a command.

    `name` may hold a space (`"build trigger"`) to make a subcommand.
    `ephemeral` answers only the caller; `admin` needs Manage Server on Discord
    (or the platform's equivalent).
    """
    if not 1 <= len(description) <= 100:
        raise ValueError(f"/{name}: a description is 1 to 100 characters")

    def mark(func: F) -> F:
        setattr(func, COMMAND_ATTR, CommandInfo(name, description, ephemeral, admin))
        return func

    return mark


def build_spec(cog: object, method: Handler, info: CommandInfo, cog_name: str) -> CommandSpec:
    """Read a bound method's signature into a `CommandSpec`."""
    hints = typing.get_type_hints(method, include_extras=True)
    params: list[Param] = []
    signature = inspect.signature(method)
    for index, (pname, parameter) in enumerate(signature.parameters.items()):
        if index == 0:
            continue
        params.append(_param(info.name, pname, hints.get(pname), parameter))
    autocompleters = {
        p.name: getattr(cog, p.autocomplete) for p in params if p.autocomplete is not None
    }
    return CommandSpec(
        name=info.name,
        description=info.description,
        params=params,
        handler=method,
        cog=cog_name,
        ephemeral=info.ephemeral,
        admin=info.admin,
        autocompleters=autocompleters,
    )


def _param(command_name: str, name: str, hint: Any, parameter: inspect.Parameter) -> Param:
    if get_origin(hint) is not Annotated:
        raise TypeError(f"/{command_name} {name}: annotate as Annotated[type, Option(...)]")
    base, *extras = get_args(hint)
    option = next((e for e in extras if isinstance(e, Option)), None)
    if option is None:
        raise TypeError(f"/{command_name} {name}: Annotated needs an Option(...)")
    optional = _is_optional(base)
    base = _strip_none(base)
    if base not in _KINDS:
        raise TypeError(f"/{command_name} {name}: unsupported option type {base!r}")
    has_default = parameter.default is not inspect.Parameter.empty
    return Param(
        name=name,
        kind=_KINDS[base],
        description=option.description,
        required=not has_default and not optional,
        default=parameter.default if has_default else None,
        min_length=option.min_length,
        max_length=option.max_length,
        min_value=option.min_value,
        max_value=option.max_value,
        choices=tuple(c if isinstance(c, Choice) else Choice(c, c) for c in option.choices),
        autocomplete=option.autocomplete,
        paragraph=option.paragraph,
        label=option.label,
        too_short=option.too_short,
    )


def _is_optional(hint: Any) -> bool:
    return get_origin(hint) in (typing.Union, types.UnionType) and type(None) in get_args(hint)


def _strip_none(hint: Any) -> Any:
    if not _is_optional(hint):
        return hint
    rest = [a for a in get_args(hint) if a is not type(None)]
    return rest[0] if len(rest) == 1 else hint
