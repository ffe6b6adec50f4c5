"""Request bodies checked against the providers' published API specs, as the installed SDKs
carry them: the SDKs' request types (TypedDicts) are generated from each provider's OpenAPI
spec, so a body that fits them (field names on the wire, required fields, enum values, nested
objects) fits the spec the SDK was built from.

    problem = spec_problem(body, ImageToVideoCreateParams)   # None when it fits
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin

from typing_extensions import is_typeddict


def _wire_name(name: str, extras: tuple[object, ...]) -> str:
    """A field's name on the wire: the SDK notes it as `alias` on the field's metadata."""
    for meta in extras:
        alias = getattr(meta, "alias", None)
        if isinstance(alias, str):
            return alias
    return name


def _fields(td: type) -> dict[str, tuple[str, object, bool]]:
    """wire name -> (python name, type, required) of a TypedDict."""
    # Read from the Required[...] marks themselves: with postponed annotations (the SDKs'
    # modules) a TypedDict's __required_keys__ comes out empty on Python 3.11.
    hints = typing.get_type_hints(td, include_extras=True)
    fields = {}
    for name, hint in hints.items():
        extras: tuple[object, ...] = ()
        kind, required = hint, bool(getattr(td, "__total__", True))
        while get_origin(kind) in (typing.Annotated, Required, NotRequired):
            if get_origin(kind) is typing.Annotated:
                extras += tuple(kind.__metadata__)
            else:
                required = get_origin(kind) is Required
            kind = get_args(kind)[0]
        fields[_wire_name(name, extras)] = (name, kind, required)
    return fields


def _problem(value: Any, kind: object, path: str) -> str | None:
    origin = get_origin(kind)
    if kind is Any or kind is object:
        return None
    if origin is Literal:
        allowed = get_args(kind)
        return None if value in allowed else f"{path}: {value!r} is not one of {list(allowed)}"
    if origin in (Union, types.UnionType):
        options = get_args(kind)
        problems = [_problem(value, option, path) for option in options]
        return None if any(p is None for p in problems) else next(p for p in problems if p)
    if kind is type(None):
        return None if value is None else f"{path}: must be null"
    if is_typeddict(kind):
        return spec_problem(value, kind, path)
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence):
        if not isinstance(value, list):
            return f"{path}: must be an array"
        (item,) = get_args(kind) or (Any,)
        for index, element in enumerate(value):
            if problem := _problem(element, item, f"{path}[{index}]"):
                return problem
        return None
    if origin in (dict, collections.abc.Mapping):
        return None if isinstance(value, dict) else f"{path}: must be an object"
    if kind is bool:
        return None if isinstance(value, bool) else f"{path}: must be a boolean"
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"{path}: must be an integer"
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"{path}: must be a number"
    if kind is str:
        return None if isinstance(value, str) else f"{path}: must be a string"
    return None  # a type the spec check does not model (files, say): the endpoint checks it


def spec_problem(body: Any, td: type, path: str = "body") -> str | None:
    """Why `body` does not fit the TypedDict `td` (or, for a union of them, the member whose
    `model` it names), or None."""
    members = get_args(td) if get_origin(td) in (Union, types.UnionType) else (td,)
    if len(members) > 1:
        model = body.get("model") if isinstance(body, dict) else None
        named = [m for m in members if get_args(_fields(m).get("model", ("", None, 0))[1])
                 == (model,)]
        if not named:
            return f"{path}.model: {model!r} is not a model of this endpoint"
        members = (named[0],)
    (spec,) = members
    if not isinstance(body, dict):
        return f"{path}: must be an object"
    fields = _fields(spec)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        return f"{path}: unrecognized key(s) {unknown}"
    for wire, (_, kind, required) in fields.items():
        if wire not in body:
            if required:
                return f"{path}.{wire}: required"
            continue
        if problem := _problem(body[wire], kind, f"{path}.{wire}"):
            return problem
    return None
