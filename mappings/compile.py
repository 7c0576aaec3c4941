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
from .transforms import BUILDERS, MEMO_WORTHY, PURE, Step, map_step, split_step
from .sfid import to18_uncached
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
        # the value usually arrives in its final type already: accept it in one test
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

    fast = key if (not steps and simple and type_name in _INLINE_TEST) else None
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
_INLINE_TEST = {
    "string": "{v}.__class__ is not str or not {v}",
    "float": "{v}.__class__ is not float or {v} - {v} != 0.0",
    "int": "{v}.__class__ is not int",
    "bool": "{v} is not True and {v} is not False",
}


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
        return vals  # only warnings: carry on with the values kept

    def _record_id(r: dict, vals: list) -> str | None:
        v = vals[0] if names and names[0] == "id" else None
        if type(v) is str:
            return v
        raw = r.get(id_field)
        return raw if type(raw) is str else None

    convert = _generate(all_attrs, getters, build, n_std, extra_names, resolve)
    return convert


def _generate(attrs: list, getters: list[Getter], build: Callable[..., Any], n_std: int,
              extra_names: list[str], resolve: Callable[[dict, list], Any]) -> Callable[[dict], Any]:
    """One straight-line function per object: plain fields read inline, the rest via
    their getters. Generated from numbered locals and repr()'d field names only (field
    names were checked against a strict pattern when the file was loaded)."""
    env: dict[str, Any] = {"build": build, "resolve": resolve, "bad_types": {Bad}, "_type": type,
                           "Unroutable": Unroutable}
    lines = ["def convert(r):", "    get = r.get"]
    for i, (compiled, getter) in enumerate(zip(attrs, getters)):
        env[f"g{i}"] = getter
        key = compiled.fast_key if compiled is not None else None
        if key is None:
            lines.append(f"    a{i} = g{i}(r)")
            continue
        env[f"e{i}"] = compiled.empty
        test = _INLINE_TEST[compiled.type].format(v=f"a{i}")
        lines += [f"    a{i} = get({key!r})", f"    if {test}:", f"        a{i} = e{i} if a{i} is None else g{i}(r)"]
    names = [f"a{i}" for i in range(len(getters))]
    lines.append(f"    vals = ({', '.join(names)},)")
    lines.append("    if not bad_types.isdisjoint(map(_type, vals)):")
    lines.append("        vals = resolve(r, list(vals))")
    lines.append("        if vals.__class__ is Unroutable:")
    lines.append("            return vals")
    std = ", ".join(f"vals[{i}]" for i in range(n_std)) if n_std else ""
    if extra_names:
        env["extra_names"] = extra_names
        lines.append(f"    return build({std}, extra=dict(zip(extra_names, vals[{n_std}:])))")
    else:
        lines.append(f"    return build({std})")
    exec(compile("\n".join(lines), "<mappings converter>", "exec"), env)  # noqa: S102 - see docstring
    return env["convert"]
