"""The sections a mapping file may hold and the attributes each one knows.

Standard attribute names are the field names of the `rules.model` dataclasses, and
their types come from those annotations, so the model stays the single source.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime

from rules import model

PY_TYPES: dict[str, type] = {
    "string": str, "id": str, "int": int, "float": float, "bool": bool,
    "date": date, "datetime": datetime, "set": frozenset, "list": tuple,
}


@dataclass(frozen=True)
class Attr:
    name: str
    type: str  # one of spec.TYPES
    required: bool  # no default in the dataclass: the mapping must fill it
    empty: object  # the value when the record has nothing (the dataclass default)


@dataclass(frozen=True)
class Kind:
    name: str  # section name in the files
    target: type | None  # dataclass filled, None for rows consumed by pool_builder
    attrs: dict[str, Attr]
    extras: bool  # may ops add attributes of their own?
    writes: bool = False
    # attributes whose values the router knows by name (rules.model enums): case is
    # forgiven, values outside the list are worth a warning
    vocab: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


def _type_name(attr: str, hint: object) -> str:
    if attr == "id" or attr.endswith("_id"):
        return "id"
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        hint, origin = args[0], typing.get_origin(args[0])
    if origin is frozenset:
        return "set"
    if origin is tuple:
        return "list"
    return {str: "string", int: "int", float: "float", bool: "bool", date: "date", datetime: "datetime"}.get(
        hint, "string"  # type: ignore[arg-type]
    )


def _attrs(cls: type, skip: tuple[str, ...]) -> dict[str, Attr]:
    hints = typing.get_type_hints(cls, vars(model))
    out = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        if f.default is not dataclasses.MISSING:
            empty, required = f.default, False
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            empty, required = f.default_factory(), False  # type: ignore[misc]
        else:
            empty, required = None, True
        out[f.name] = Attr(f.name, _type_name(f.name, hints[f.name]), required, empty)
    return out


def _writeback() -> dict[str, Attr]:
    spec = {
        "owner_id": "id", "partner_id": "id", "routing_status": "string", "rule": "string",
        "reason": "string", "attempt": "int", "offered_at": "datetime", "deadline": "datetime",
        "response": "string", "rejection_reason": "string", "rejection_code": "string", "calendar": "string",
    }
    return {n: Attr(n, t, False, None) for n, t in spec.items()}


def _values(enum: type) -> tuple[str, ...]:
    return tuple(m.value for m in enum)  # type: ignore[attr-defined]


_STATUS = {"routing_status": _values(model.RoutingStatus), "response": _values(model.Response)}

KINDS: dict[str, Kind] = {
    "lead": Kind("lead", model.Lead, _attrs(model.Lead, ("extra",)), extras=True, vocab=_STATUS),
    "partner": Kind("partner", model.Partner, _attrs(model.Partner, ("extra", "reps")), extras=True,
                    vocab={"tier": _values(model.Tier), "role": _values(model.Role)}),
    "rep": Kind("rep", model.Rep, _attrs(model.Rep, ()), extras=False),
    "pool": Kind("pool", None, _attrs(model.Pool, ("member_rep_ids", "member_partner_ids")), extras=False),
    "pool_member": Kind(
        "pool_member", None,
        {"group_id": Attr("group_id", "id", True, None), "member_id": Attr("member_id", "id", True, None)},
        extras=False,
    ),
    "dealreg": Kind("dealreg", model.DealRegistration, _attrs(model.DealRegistration, ()), extras=False),
    "writeback": Kind("writeback", None, _writeback(), extras=True, writes=True, vocab=_STATUS),
}
READ_KINDS = tuple(k for k in KINDS if k != "writeback")
