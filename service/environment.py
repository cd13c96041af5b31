"""Environment variables declared once, as the fields of frozen msgspec Structs.

In a settings group (a :class:`SettingsGroup`) every field is one environment variable, declared
in one statement::

    port: Annotated[int, Meta(ge=1, le=65535, description="listen port")] = env("PORT", 8000)

The variable's name, its type (with ``Meta`` bounds), its default and its description (what the
README's tables show) are all there. :class:`EnvironmentReader` converts each variable on its
own, so one pass over the environment reports every problem, one line each. ``Meta(extra=...)``
adds ``"secret": True`` (never in a ``repr``) and, for a type the reader cannot convert by
itself (a JSON object), ``"parse"`` and ``"accepts"``.

Standard library and msgspec only: ``python -m service`` checks the configuration with this
before it imports the app.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union, cast, get_args, get_origin

import msgspec

T = TypeVar("T")
G = TypeVar("G", bound=msgspec.Struct)

REQUIRED: Any = msgspec.NODEFAULT
"""The default of a variable that has none: the reader's caller decides what its absence means."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env(name: str, default: T) -> T:
    """A settings field read from the environment variable ``name``, ``default`` when unset."""
    return msgspec.field(default=default, name=name)


class InvalidValue(ValueError):
    """A variable's text is unusable; ``problems`` has one line each, naming the variable."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


Parser = Callable[[str, str], object]
"""A custom conversion, ``(variable name, text) -> value``; raises :class:`InvalidValue`."""


@dataclass(frozen=True, kw_only=True)
class Variable:
    """One declared environment variable: a field of a settings group."""

    name: str
    """The variable, e.g. ``PORT``."""
    aliases: tuple[str, ...]
    """Other spellings read when ``name`` is unset (BYOP_* for UPSTREAM_*)."""
    attribute: str
    """The field it fills."""
    kind: Any
    """The type without ``Annotated`` and ``None``: str, int, float, bool, a Literal, or any
    type with a ``parse`` function."""
    annotation: Any
    """The field's full annotation, with its ``Meta`` constraints."""
    optional: bool
    """``None`` is a value (an unset ``str | None`` variable)."""
    default: object
    """The value when unset; :data:`REQUIRED` when there is none."""
    minimum: int | float | None
    maximum: int | float | None
    description: str
    accepts: str
    """What the text may be, for people: ``integer, 1 to 65535``, ``managed, byop``, ..."""
    parse: Parser | None
    secret: bool
    """Never shown: not in a ``repr``, not echoed in a problem."""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def choices(self) -> tuple[str, ...]:
        """The Literal's values; empty for other kinds."""
        return get_args(self.kind) if get_origin(self.kind) is Literal else ()

    def convert(self, name: str, text: str) -> object:
        """``text`` (stripped, not empty) as this variable's value; :class:`InvalidValue` names
        ``name`` (the spelling that was set) and echoes the text, so never use it for a secret
        that is not a plain string."""
        if self.parse is not None:
            return self.parse(name, text)
        if self.choices:
            lowered = text.lower()
            if lowered not in self.choices:
                raise InvalidValue(f"{name}={text!r} is not one of {', '.join(self.choices)}")
            return lowered
        if self.kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise InvalidValue(f"{name}={text!r} is not a boolean (true or false)")
        value: object = text
        if self.kind in (int, float):
            try:
                value = msgspec.convert(text, self.kind, strict=False)
            except msgspec.ValidationError:
                expected = "an integer" if self.kind is int else "a number"
                raise InvalidValue(f"{name}={text!r} is not {expected}") from None
        try:
            return msgspec.convert(value, self.annotation)  # the Meta constraints
        except msgspec.ValidationError as error:
            if self.minimum is None and self.maximum is None:
                raise InvalidValue(f"{name}: {error}") from None
            raise InvalidValue(f"{name}={value} is out of range: {self._bounds()}") from None

    def _bounds(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"use {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"use {self.minimum} or more"
        return f"use at most {self.maximum}"


@functools.cache
def variables(
    group: type[msgspec.Struct], naming: Callable[[str], tuple[str, ...]] | None = None
) -> tuple[Variable, ...]:
    """The variables ``group`` declares, in order. Each field's ``name=`` is its variable unless
    ``naming`` turns the field name into the variable and its aliases (a model that is read from
    other sources too, like the BYOP credentials)."""
    return tuple(_variable(info, naming) for info in msgspec.structs.fields(group))


def _variable(
    info: msgspec.structs.FieldInfo, naming: Callable[[str], tuple[str, ...]] | None
) -> Variable:
    names = naming(info.name) if naming else (info.encode_name,)
    kind: Any = info.type
    metas: tuple[msgspec.Meta, ...] = ()
    if get_origin(kind) is Annotated:
        kind, *extras = get_args(kind)
        metas = tuple(extra for extra in extras if isinstance(extra, msgspec.Meta))
    optional = get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind)
    if optional:
        (kind,) = (member for member in get_args(kind) if member is not type(None))

    def meta(attribute: str) -> Any:
        given = (getattr(m, attribute) for m in metas if getattr(m, attribute) is not None)
        return next(given, None)

    minimum, maximum = meta("ge"), meta("le")
    extra: Mapping[str, Any] = meta("extra") or {}
    parse: Parser | None = extra.get("parse")
    accepts = extra.get("accepts") or _accepts(kind, minimum, maximum)
    if parse is None and not accepts:
        raise TypeError(f"{names[0]}: no conversion for {kind!r}; give Meta(extra={{'parse': …}})")
    if info.default_factory is not msgspec.NODEFAULT:
        default: object = info.default_factory()
    else:
        default = info.default
    return Variable(
        name=names[0],
        aliases=names[1:],
        attribute=info.name,
        kind=kind,
        annotation=info.type,
        optional=optional,
        default=default,
        minimum=minimum,
        maximum=maximum,
        description=meta("description") or "",
        accepts=accepts,
        parse=parse,
        secret=bool(extra.get("secret")),
    )


def _accepts(kind: Any, minimum: float | None, maximum: float | None) -> str:
    if get_origin(kind) is Literal:
        return ", ".join(f"`{choice}`" for choice in get_args(kind))
    bounds = f", {minimum} to {maximum}" if minimum is not None and maximum is not None else ""
    return {bool: "`true` or `false`", int: f"integer{bounds}", float: f"number{bounds}"}.get(
        kind, "text" if kind is str else ""
    )


class SettingsGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the settings groups: frozen, keyword-only, and a ``repr`` without secrets."""

    def __repr__(self) -> str:
        shown = (
            f"{v.attribute}={'<hidden>' if v.secret else repr(getattr(self, v.attribute))}"
            for v in variables(type(self))
        )
        return f"{type(self).__name__}({', '.join(shown)})"


class EnvironmentReader:
    """Reads declared variables from one environment, recording problems instead of raising."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []
        self.refused: set[str] = set()
        """Variables that were set to something unusable (their problem is recorded)."""

    def text(self, name: str) -> str | None:
        """The variable's text, stripped; None when unset or blank."""
        return self._environ.get(name, "").strip() or None

    def values(
        self,
        group: type[msgspec.Struct],
        naming: Callable[[str], tuple[str, ...]] | None = None,
    ) -> dict[str, object]:
        """The usable values of the variables that are set, by field name (``naming`` as in
        :func:`variables`)."""
        found: dict[str, object] = {}
        for variable in variables(group, naming):
            spelling = next(
                (name for name in (variable.name, *variable.aliases) if self.text(name)), None
            )
            if spelling is None:
                continue
            try:
                found[variable.attribute] = variable.convert(spelling, self.text(spelling) or "")
            except InvalidValue as invalid:
                self.problems.extend(invalid.problems)
                self.refused.add(variable.name)
        return found

    def read(self, group: type[G]) -> G:
        """``group`` from the environment: every field a variable, defaults where unset or
        refused (each refusal is a recorded problem)."""
        build = cast(Callable[..., G], group)
        return build(**self.values(group))


def markdown_table(rows: Iterable[Variable], *, marked: Iterable[str] = ()) -> str:
    """A Markdown table of ``rows``; variables in ``marked`` get a check in the "infra" column."""
    marked = set(marked)
    lines = [
        "| variable | default | accepts | infra | meaning |",
        "|---|---|---|---|---|",
    ]
    for variable in rows:
        names = " or ".join(f"`{name}`" for name in (variable.name, *variable.aliases))
        cells = (
            names,
            _default(variable),
            variable.accepts,
            "✓" if variable.name in marked else "",
            variable.description,
        )
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _default(variable: Variable) -> str:
    value = variable.default
    if variable.required:
        return "required"
    if value is None or value in ("", {}):
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"
