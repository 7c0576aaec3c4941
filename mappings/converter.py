"""An object's getters → one converter function: record dict → dataclass | Unroutable.

The converter is generated once per mapping as straight-line Python: plain fields are
read inline and accepted with one type test, the rest go through their getters; the
dataclass is built positionally. Bad data comes back as Unroutable, never raised.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .compile import INLINE_TEST, CompiledAttribute, Getter
from .kinds import Kind
from .values import Bad


@dataclass
class Unroutable:
    """A record that cannot be used as it stands; `reason` is written back to the lead."""

    lead_id: str | None
    reason: str
    problems: list[str] = field(default_factory=list)
    sobject: str = "Lead"
    # the first problem's fields and why, for a reason naming the fields by their labels
    fields: tuple[str, ...] = ()
    why: str = ""

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

    all_names = [*names, *extra_names]

    def resolve(r: dict, vals: list) -> Any:
        problems: list[str] = []
        dropped: dict[str, str] = {}
        first: tuple[tuple[str, ...], str] | None = None
        for i, v in enumerate(vals):
            if v.__class__ is not Bad:
                continue
            label = all_attrs[i].label if all_attrs[i] is not None else names[i]
            if v.soft:
                vals[i] = v.keep
                dropped[all_names[i]] = f"{label}: {v.why}"
                if warn is not None:
                    warn(_record_id(r, vals), f"{label}: {v.why}")
            else:
                problems.append(f"{label}: {v.why}")
                compiled = all_attrs[i]
                if len(problems) == 1 and compiled is not None and compiled.fields and label == "/".join(compiled.fields):
                    first = (tuple(compiled.fields), v.why)
        if problems:
            fields, why = first or ((), "")
            return Unroutable(_record_id(r, vals), problems[0], problems, sobject, fields, why)
        vals.append(dropped)  # only warnings: carry on with the values kept, saying which were dropped
        return vals

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
        test = INLINE_TEST[compiled.type].format(v=f"a{i}")
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
        made = f"build({std}, extra=dict(zip(extra_names, vals[{n_std}:])))"
    else:
        made = f"build({std})"
    env["dropped_values"] = _dropped_values
    lines.append("        dropped = vals.pop()")
    lines.append(f"        return dropped_values({made}, dropped)")
    lines.append(f"    return {made}")
    exec(compile("\n".join(lines), "<mappings converter>", "exec"), env)  # noqa: S102 - see docstring
    return env["convert"]


DROPPED = "dropped_values"  # key in a record's `extra`: attribute → "Label: why its value was dropped"


def _dropped_values(built: Any, dropped: dict[str, str]) -> Any:
    """Values a soft problem dropped (an unrecognised country read as none) stay known,
    so a reason can show what was there: "Country: 'Atlantis' is not a recognised country"."""
    extra = getattr(built, "extra", None)
    if dropped and isinstance(extra, dict):
        extra[DROPPED] = dropped
    return built
