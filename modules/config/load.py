"""Reading a deployment file: TOML into the dataclasses of `model.py`, with cattrs.

The converter is strict where TOML is (no string for a number, no boolean for an integer, a
list where a list is declared) and collects every problem of a file at once; each becomes one
line naming the key and what to write instead. The values are then checked by `validate.py`.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import cattrs
from cattrs.errors import ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override

from modules.config.model import TOML_KEY, ConfigError, DeploymentConfig
from modules.config.validate import validate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The repository: deployments/, helm-values/, the chart and the tool configurations."""
DEPLOYMENTS_DIR = PROJECT_ROOT / "deployments"
DEFAULT_DEPLOYMENT = "ecs-managed"


def resolve_config_path(selection: str | None) -> Path:
    """A path as given, or an example's name (`ecs-byop`) from deployments/; default ecs-managed."""
    selection = selection or DEFAULT_DEPLOYMENT
    if "/" not in selection and not selection.endswith(".toml"):
        return DEPLOYMENTS_DIR / f"{selection}.toml"
    return Path(selection)


def load_config(path: Path | str) -> DeploymentConfig:
    """Read and validate a deployment file; raise ConfigError with every problem found."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such file; pass --config with a file from deployments/"]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read: {error}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: not valid TOML: {error}"]) from None
    return parse_config(data, source=str(path))


def parse_config(data: dict[str, Any], *, source: str = "config") -> DeploymentConfig:
    """Build and validate a configuration from already-parsed TOML data."""
    try:
        config = _CONVERTER.structure(data, DeploymentConfig)
    except Exception as error:
        problems = list(_problem_lines(error, ""))
        raise ConfigError([f"{source}: {problem}" for problem in problems]) from None
    problems = validate(config)
    if problems:
        raise ConfigError([f"{source}: {problem}" for problem in problems])
    return config


# --- the converter: TOML types as declared, nothing coerced -------------------------------------


class _WrongValue(Exception):
    """A value of the wrong type or choice; `message` has `{key}` where the key goes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _scalar(kind: type, article: str) -> Callable[[Any, type], Any]:
    def structure(value: Any, _: type) -> Any:
        # bool is an int in Python; TOML keeps them apart, and so do we.
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        raise _WrongValue(f"`{{key}}` must be {article}, not {value!r}")

    return structure


def _literal(value: Any, hint: Any) -> Any:
    choices = typing.get_args(hint)
    if value in choices:
        return value
    raise _WrongValue(f"`{{key}}` = {value!r}; use one of {', '.join(map(repr, choices))}")


def _strings(value: Any, _: type) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _WrongValue("`{key}` must be a list of strings")


def _string_table(value: Any, _: type) -> dict[str, str]:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    raise _WrongValue("`{key}` must be a table of strings")


def _table_factory(cls: type) -> Callable[[Any, type], Any]:
    renamed: dict[str, Any] = {
        f.name: override(rename=f.metadata[TOML_KEY])
        for f in dataclasses.fields(cls)
        if TOML_KEY in f.metadata
    }
    structure: Callable[[Any, type], Any] = make_dict_structure_fn(
        cls, _CONVERTER, _cattrs_forbid_extra_keys=True, **renamed
    )

    def structure_table(value: Any, hint: type) -> Any:
        if not isinstance(value, dict):
            raise _WrongValue("`{key}` must be a table")
        return structure(value, hint)

    return structure_table


def _origin_is(origin: object) -> Callable[[Any], bool]:
    """A predicate: is a type hint `origin[...]` (tuple[str, ...], Literal["a", "b"], ...)?"""
    return lambda hint: typing.get_origin(hint) is origin


_CONVERTER = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
_CONVERTER.register_structure_hook(str, _scalar(str, "a str"))
_CONVERTER.register_structure_hook(int, _scalar(int, "an integer"))
_CONVERTER.register_structure_hook(bool, _scalar(bool, "a bool"))
_CONVERTER.register_structure_hook_func(_origin_is(tuple), _strings)
_CONVERTER.register_structure_hook_func(_origin_is(dict), _string_table)
_CONVERTER.register_structure_hook_func(_origin_is(Literal), _literal)
_CONVERTER.register_structure_hook_factory(dataclasses.is_dataclass, _table_factory)


# --- cattrs' exception tree as one line per problem ---------------------------------------------


def _toml_keys(cls: object) -> dict[str, str]:
    """Field name -> TOML key, for the fields of a dataclass whose key differs (`async`)."""
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls):
        return {}
    return {f.name: f.metadata[TOML_KEY] for f in dataclasses.fields(cls) if TOML_KEY in f.metadata}


def _problem_lines(error: BaseException, where: str) -> Iterator[str]:
    """One line per leaf of cattrs' exception tree; `where` is the dotted key path so far."""
    if isinstance(error, ForbiddenExtraKeysError):
        known = ", ".join(
            sorted(f.metadata.get(TOML_KEY, f.name) for f in dataclasses.fields(error.cl))
        )
        for key in sorted(error.extra_fields):
            yield f"unknown key `{where}{key}`; known keys here: {known}"
        return
    if isinstance(error, ExceptionGroup):
        keys = _toml_keys(getattr(error, "cl", None))
        for child in error.exceptions:
            attribute = next(
                (note.name for note in getattr(child, "__notes__", ()) if hasattr(note, "name")),
                None,
            )
            if attribute is None:
                yield from _problem_lines(child, where)
            else:
                yield from _problem_lines(child, f"{where}{keys.get(attribute, attribute)}.")
        return
    key = where.rstrip(".") or "the top level"
    if isinstance(error, _WrongValue):
        yield error.message.format(key=key)
    elif isinstance(error, KeyError):
        yield f"`{key}` is required"
    else:
        yield f"`{key}`: {error}"
