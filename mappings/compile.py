"""An attribute's spec → `getter(record) -> value | Bad`, a plain closure built once.

Per record nothing walks the spec. Pipelines over values that repeat a lot (countries,
picklists, product lists) remember their answers per raw value; plain text steps are
called straight; converter.py strings the getters of an object together.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .kinds import Attr
from .sfid import to18_uncached
from .spec import UNSET, AttributeSpec
from .transforms import BUILDERS, MEMO_WORTHY, PURE, Step, map_step, split_step
from .values import COERCE, Bad, to_bool, to_id

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
    # set when the value is one plain field with no steps: the converter then reads it
    # inline and calls `getter` only when the value is not already in its final type
    fast_key: str | None = None
    empty: Any = None


def empty_value(attr: Attr | None, type_name: str) -> Any:
    if attr is not None:
        return attr.empty
    return frozenset() if type_name == "set" else () if type_name == "list" else None


def compile_attribute(name: str, spec: AttributeSpec, type_name: str, attr: Attr | None, ctx: Any,
                      vocab: tuple[str, ...] = ()) -> CompiledAttribute:
    coerce = COERCE[type_name]
    steps: list[Step] = []
    # coverage parses its own `;` list; everything else multi-valued splits first
    if type_name in ("set", "list") and not any(t.name in ("split", "coverage") for t in spec.transforms):
        steps.append(split_step(spec.split or ";"))
    pure = True
    memo_worthy = type_name in ("set", "list") or spec.map is not None
    for i, t in enumerate(spec.transforms):
        memo_worthy = memo_worthy or t.name in MEMO_WORTHY
        try:
            steps.append(BUILDERS[t.name](t, ctx))
        except ValueError as exc:
            raise LoadProblem(str(exc), ("transforms", i)) from None
        pure = pure and t.name in PURE
    if spec.map is not None:
        for key, value in spec.map.items():
            if type_name not in ("set", "list") and not isinstance(value, (list, dict)):
                checked = _final(coerce, value)
                if type(checked) is Bad:
                    raise LoadProblem(f"map value {value!r} does not fit type {type_name}: {checked.why}", ("map", key))
        steps.append(map_step(spec.map, spec.map_default))
    elif spec.map_default is not UNSET:
        raise LoadProblem("map_default without a map", ("map_default",), "add map = { … } or remove map_default")
    canonical = None
    if vocab:
        # 'gold' and 'GOLD' are the router's 'Gold'
        canonical = map_step({v: v for v in vocab})
        steps.append(canonical)
        memo_worthy = True

    required = spec.required or (attr is not None and attr.required)
    if spec.default is not UNSET:
        default = canonical(spec.default, {}) if canonical is not None else spec.default
        empty = _final(coerce, default)
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

    if not steps and simple:
        # the converter reads such fields inline and calls this getter only for values
        # not already in their final type (see converter._generate)
        if type_name == "id" and name == "id":
            coerce = _own_id  # a record's own id never repeats: skip the shared cache

        def getter(r: dict) -> Any:
            v = r.get(key)
            if v is None or v == "":
                return empty
            v = coerce(v)
            return v if v or v is False or v == 0 or v.__class__ is Bad else empty
    elif simple and type_name == "string" and all(hasattr(s, "text") for s in steps):
        # text in, text out (trim, lower, postal, e-mail domain…): call the functions
        # straight; anything unusual (a Bad, a number) takes the general path
        texts = [s.text for s in steps]  # type: ignore[attr-defined]
        if len(texts) == 1:
            only = texts[0]

            def getter(r: dict) -> Any:
                v = r.get(key)
                if v.__class__ is str:
                    out = only(v)
                    if out.__class__ is str and out:
                        return out
                return empty if v is None or v == "" else run(v, r)
        else:
            def getter(r: dict) -> Any:
                v = r.get(key)
                if v.__class__ is str:
                    out = v
                    for f in texts:
                        out = f(out)
                        if out.__class__ is not str:
                            break
                    else:
                        if out:
                            return out
                return empty if v is None or v == "" else run(v, r)
    elif pure and memo_worthy:
        memo: dict[Any, Any] = {}
        if not simple:
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
                v = r.get(key)
                hit = memo.get(v, _MISS) if v.__class__ is str else _MISS
                if hit is not _MISS:
                    return hit
                if v is None or v == "":
                    return empty
                hit = run(v, r)
                if v.__class__ is str and len(memo) < _MEMO_MAX:
                    memo[v] = hit
                return hit
    else:
        def getter(r: dict) -> Any:
            v = extract(r)
            if v is None or v == "":
                return empty
            return run(v, r)

    fast = key if (not steps and simple and type_name in INLINE_TEST) else None
    return CompiledAttribute(name, type_name, label, getter, spec.fields_read, spec, fast_key=fast, empty=empty)


def _own_id(v: Any) -> Any:
    # a record's own Id comes from the org, never from a person: 18 letters and digits
    # are taken as they are, no checksum to verify
    if v.__class__ is str:
        if len(v) == 18 and v.isalnum() and v.isascii():
            return v
        out = to18_uncached(v.strip())
        if out is not None:
            return out
    return to_id(v)


# "not yet in its final type", as inline source for the converter; {v} is the local
# (v - v != 0.0 catches nan and inf)
INLINE_TEST = {
    "string": "{v}.__class__ is not str or not {v}",
    "float": "{v}.__class__ is not float or {v} - {v} != 0.0",
    "int": "{v}.__class__ is not int",
    "bool": "{v} is not True and {v} is not False",
}


def _final(coerce: Callable[[Any], Any], value: Any) -> Any:
    if isinstance(value, list):
        value = [str(x) for x in value]
    return coerce(value)
