"""Mapping spec → plain closures, built once; per record nothing walks the spec.

An attribute compiles to `getter(record) -> value | Bad`; an object compiles to a
converter that calls its getters in dataclass order and builds the dataclass
positionally. Pure pipelines (no record-dependent step) remember their answers for
repeated raw values — countries, picklists and product lists repeat a lot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .kinds import Attr, Kind
from .spec import UNSET, AttributeSpec, TransformSpec
from .transforms import BUILDERS, PURE, Step, map_step, split_step
from .values import COERCE, Bad, to_bool

Getter = Callable[[dict], Any]
_MISS = object()
_MEMO_MAX = 4096


class LoadProblem(ValueError):
    """A compile-time problem at a key path below the attribute (loader adds file/line)."""

    def __init__(self, message: str, path: tuple = (), fix: str | None = None):
        super().__init__(message)
        self.path = path
        self.fix = fix


def extractor(path: str) -> Getter:
    """Read a field or a relationship path (`Owner.IsActive`) from a record dict."""
    if "." not in path:
        return lambda r: r.get(path)
    parts = path.split(".")

    def walk(r: dict) -> Any:
        v: Any = r
        for p in parts:
            if type(v) is not dict:
                return None
            v = v.get(p)
        return v

    return walk


def _first_non_empty(getters: list[Getter]) -> Getter:
    def first(r: dict) -> Any:
        for g in getters:
            v = g(r)
            if v is not None and not (type(v) is str and not v.strip()):
                return v
        return None

    return first


def _flags(flags: dict[str, str]) -> Getter:
    pairs = [(value, name, extractor(name)) for value, name in flags.items()]

    def collect(r: dict) -> Any:
        out = []
        for value, name, get in pairs:
            v = get(r)
            if v is None or v is False:
                continue
            b = to_bool(v)
            if type(b) is Bad:
                return Bad(f"{name}: {b.why}")
            if b:
                out.append(value)
        return out or None

    return collect


@dataclass
class CompiledAttribute:
    name: str
    type: str
    label: str  # the Salesforce field(s) named in `<field>: <why>`
    getter: Getter
    fields: tuple[str, ...]
    spec: AttributeSpec
    constant: Any = UNSET


def empty_value(attr: Attr | None, type_name: str) -> Any:
    if attr is not None:
        return attr.empty
    return frozenset() if type_name == "set" else () if type_name == "list" else None


def compile_attribute(name: str, spec: AttributeSpec, type_name: str, attr: Attr | None, ctx: Any) -> CompiledAttribute:
    coerce = COERCE[type_name]
    steps: list[Step] = []
    # coverage parses its own `;` list; everything else multi-valued splits first
    if type_name in ("set", "list") and not any(t.name in ("split", "coverage") for t in spec.transforms):
        steps.append(split_step(spec.split or ";"))
    pure = True
    for i, t in enumerate(spec.transforms):
        try:
            steps.append(BUILDERS[t.name](t, ctx))
        except ValueError as exc:
            raise LoadProblem(str(exc), ("transforms", i)) from None
        pure = pure and t.name in PURE
    if spec.map is not None:
        steps.append(map_step(spec.map, spec.map_default))
    elif spec.map_default is not UNSET:
        raise LoadProblem("map_default without a map", ("map_default",), "add map = { … } or remove map_default")

    required = spec.required or (attr is not None and attr.required)
    if spec.default is not UNSET:
        empty = _final(coerce, spec.default)
        if type(empty) is Bad:
            raise LoadProblem(f"default {spec.default!r} does not fit type {type_name}: {empty.why}", ("default",))
    elif required:
        empty = Bad("required, but empty")
    else:
        empty = empty_value(attr, type_name)

    def run(v: Any, r: dict) -> Any:
        warn = None
        for s in steps:
            v = s(v, r)
            if v.__class__ is Bad:
                if not v.soft:
                    return v
                warn, v = v, v.keep
            if v is None or v == "" or v == []:
                break
        else:
            v = coerce(v)
            if v.__class__ is Bad:
                return v
            if v or v is False or v == 0:
                return v if warn is None else Bad(warn.why, soft=True, keep=v)
        # nothing usable came out: the default, or why the record cannot go on
        if warn is None:
            return empty
        if empty.__class__ is Bad:
            return Bad(warn.why)
        return Bad(warn.why, soft=True, keep=empty)

    label = "/".join(spec.fields_read) if spec.flags is None else name
    if spec.constant is not UNSET:
        value = run(spec.constant, {})
        if type(value) is Bad:
            raise LoadProblem(f"constant {spec.constant!r} does not fit: {value.why}", ("constant",))
        return CompiledAttribute(name, type_name, label, lambda r: value, (), spec, constant=value)

    if spec.flags is not None:
        extract = _flags(spec.flags)
    elif len(spec.field) == 1:
        extract = extractor(spec.field[0])
    else:
        extract = _first_non_empty([extractor(f) for f in spec.field])
    simple = len(spec.field) == 1 and "." not in spec.field[0]
    key = spec.field[0] if spec.field else ""

    if not steps and simple and type_name == "string":
        def getter(r: dict) -> Any:
            v = r.get(key)
            if v.__class__ is str and v:
                return v
            return empty if v is None or v == "" else run(v, r)
    elif not steps and simple:
        def getter(r: dict) -> Any:
            v = r.get(key)
            if v is None or v == "":
                return empty
            v = coerce(v)
            return v if v or v is False or v == 0 or v.__class__ is Bad else empty
    elif pure:
        memo: dict[Any, Any] = {}

        def getter(r: dict) -> Any:
            v = extract(r)
            if v is None or v == "":
                return empty
            if v.__class__ is not str:
                return run(v, r)
            hit = memo.get(v, _MISS)
            if hit is _MISS:
                hit = run(v, r)
                if len(memo) < _MEMO_MAX:
                    memo[v] = hit
            return hit
    else:
        def getter(r: dict) -> Any:
            v = extract(r)
            if v is None or v == "":
                return empty
            return run(v, r)

    return CompiledAttribute(name, type_name, label, getter, spec.fields_read, spec)


def _final(coerce: Callable[[Any], Any], value: Any) -> Any:
    if isinstance(value, list):
        value = [str(x) for x in value]
    return coerce(value)


@dataclass
class Unroutable:
    """A record that cannot be used as it stands; `reason` is written back to the lead."""

    lead_id: str | None
    reason: str
    problems: list[str] = field(default_factory=list)
    sobject: str = "Lead"

    @property
    def record_id(self) -> str | None:
        return self.lead_id


Warn = Callable[[str | None, str], None]


def build_converter(
    kind: Kind,
    sobject: str,
    standard: list[CompiledAttribute | None],
    extras: list[CompiledAttribute],
    build: Callable[..., Any],
    warn: Warn | None = None,
) -> Callable[[dict], Any]:
    """Records → `build(*standard values, extra)`; bad data → Unroutable, never raised."""
    names = list(kind.attrs)
    std_getters: list[Getter] = []
    for name, compiled in zip(names, standard):
        if compiled is None:
            constant = kind.attrs[name].empty
            std_getters.append(lambda r, c=constant: c)
        else:
            std_getters.append(compiled.getter)
    all_attrs = [*standard, *extras]
    getters = [*std_getters, *(e.getter for e in extras)]
    n_std = len(std_getters)
    extra_names = [e.name for e in extras]
    id_attr = standard[names.index("id")] if "id" in names else None
    id_field = id_attr.fields[0] if id_attr is not None and id_attr.fields else "Id"
    bad_types = {Bad}

    def resolve(r: dict, vals: list) -> Any:
        problems: list[str] = []
        for i, v in enumerate(vals):
            if v.__class__ is not Bad:
                continue
            label = all_attrs[i].label if all_attrs[i] is not None else names[i]
            if v.soft:
                vals[i] = v.keep
                if warn is not None:
                    warn(_record_id(r, vals), f"{label}: {v.why}")
            else:
                problems.append(f"{label}: {v.why}")
        if problems:
            return Unroutable(_record_id(r, vals), problems[0], problems, sobject)
        return None

    def _record_id(r: dict, vals: list) -> str | None:
        v = vals[0] if names and names[0] == "id" else None
        if type(v) is str:
            return v
        raw = r.get(id_field)
        return raw if type(raw) is str else None

    if extras:
        def convert(r: dict) -> Any:
            vals = [g(r) for g in getters]
            if not bad_types.isdisjoint(map(type, vals)):
                failed = resolve(r, vals)
                if failed is not None:
                    return failed
            return build(*vals[:n_std], extra=dict(zip(extra_names, vals[n_std:])))
    else:
        def convert(r: dict) -> Any:
            vals = [g(r) for g in getters]
            if not bad_types.isdisjoint(map(type, vals)):
                failed = resolve(r, vals)
                if failed is not None:
                    return failed
            return build(*vals)

    return convert
