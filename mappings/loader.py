"""TOML files → checked, compiled mappings; every problem found is reported at once.

The shipped defaults live in `mappings/defaults/`. Ops point at their own directory
(or files); any section their files leave out comes from the defaults, so a directory
holding only `lead.toml` changes only how leads are read.
"""
from __future__ import annotations

import keyword
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rules.tomllines import TomlLines
from rules.tomllines import loads as toml_loads
from rules.values import LEAD_SCORE, RESERVED_NAMES

from .compile import CompiledAttribute, LoadProblem, compile_attribute
from .errors import MappingError, Problem, fix_meant, meant, toml_problem
from .filters import syntax_problems
from .kinds import KINDS, Attr, Kind
from .mapping_set import MappingSet
from .object_mapping import ObjectMapping, Source
from .spec import ATTRIBUTE_KEYS, OBJECT_KEYS, TRANSFORMS, TYPES, UNSET, AttributeSpec, ObjectSpec

DEFAULTS_DIR = Path(__file__).parent / "defaults"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# a declared type may narrow a standard attribute's type, never change its meaning
_COMPATIBLE = {("float", "int"), ("string", "id")}


class _Context:
    """What a transform may ask of the object it is compiled in."""

    def __init__(self, attrs: Any, known: Iterable[str]):
        self._attrs = attrs
        self._known = set(known)
        self.wanted: list[str] = []

    def attribute_getter(self, name: str) -> Any:
        if not isinstance(name, str) or name not in self._known:
            raise ValueError(f"subdivision looks up the country in attribute {name!r}, which is not mapped"
                             + meant(str(name), self._known))
        self.wanted.append(name)
        attrs = self._attrs
        found: list = []

        def get(r: dict) -> Any:
            # resolved on first use: the attribute may be compiled after this one
            if not found:
                found.append(attrs[name].getter)
            return found[0](r)

        return get


def _files(directory_or_files: Any) -> list[Path]:
    if directory_or_files is None:
        return sorted(DEFAULTS_DIR.glob("*.toml"))
    items = [directory_or_files] if isinstance(directory_or_files, (str, Path)) else list(directory_or_files)
    out: list[Path] = []
    for item in items:
        path = Path(item)
        out.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
    return out


def _read(path: Path, problems: list[Problem]) -> Source | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        missing = not path.exists()
        problems.append(Problem(str(path), None, "", "cannot read the mapping file: no such folder or file" if missing else
                                f"cannot read the mapping file: {exc.strerror or exc}",
                                "point the config's [mappings] dir (or $LEADROUTER_MAPPINGS_DIR) at your copy of "
                                f"mappings/defaults ({DEFAULTS_DIR}), or leave it unset for the shipped mappings"
                                if missing else "let the user running leadrouter read it"))
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), None, "", f"not UTF-8 text (byte {exc.start})",
                                "save the mapping file as UTF-8"))
        return None
    try:
        raw = toml_loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(toml_problem(str(path), text, exc))
        return None
    return Source(str(path), TomlLines(text), raw)


def _sections(paths: list[Path], problems: list[Problem]) -> dict[str, tuple[Source, Any]]:
    found: dict[str, tuple[Source, Any]] = {}
    for path in paths:
        source = _read(path, problems)
        if source is None:
            continue
        for name, body in source.raw.items():
            kind = name.lower() if name.lower() in KINDS else None
            if kind is None:
                problems.append(Problem(source.file, source.lines.line((name,)), name,
                                        f"unknown section [{name}]",
                                        fix_meant(name, KINDS, f"use one of: {', '.join(f'[{k}]' for k in KINDS)}")))
                continue
            if kind in found:
                other = found[kind][0]
                problems.append(Problem(source.file, source.lines.line((name,)), name,
                                        f"section [{kind}] is also defined in {other.file}",
                                        "keep one of them"))
                continue
            found[kind] = (source, body)
    return found


def load_mappings(directory_or_files: Any = None) -> MappingSet:
    """Load, check and compile mapping files (None: the shipped defaults).

    Raises MappingError listing every problem, each with file, line, key and fix.
    """
    problems: list[Problem] = []
    paths = _files(directory_or_files)
    sections = _sections(paths, problems)
    if directory_or_files is not None and not paths:
        problems.append(Problem(str(directory_or_files), None, "", "no .toml mapping files here; the shipped defaults apply",
                                f"copy the files from {DEFAULTS_DIR} and edit them", severity="warning"))
    if directory_or_files is not None:
        defaults = _sections(_files(None), problems)
        for name, entry in defaults.items():
            sections.setdefault(name, entry)
    objects: dict[str, ObjectMapping] = {}
    for name in KINDS:
        if name not in sections:
            problems.append(Problem(str(DEFAULTS_DIR), None, name, f"no [{name}] section in any mapping file",
                                    f"add a [{name}] section (copy it from {DEFAULTS_DIR / 'partner.toml'} or its neighbours)"))
            continue
        source, body = sections[name]
        mapping = _load_object(KINDS[name], source, body, problems)
        if mapping is not None:
            objects[name] = mapping
    problems += _read_back(objects)
    problems.sort(key=lambda p: (p.file, p.line or 0))
    if any(p.is_error for p in problems):
        raise MappingError(problems)
    return MappingSet(objects, warnings=[p for p in problems if not p.is_error])


# what the router writes on the Lead and reads back on the next poll: the same field both ways
_READ_BACK = ("routing_status", "response", "rejection_reason", "attempt", "owner_id", "partner_id")


def _read_back(objects: dict[str, ObjectMapping]) -> list[Problem]:
    """A status written to one field and read from another is never seen again: a person's
    Pending there is not heard, dry-run and once disagree on which leads are unrouted."""
    lead, writeback = objects.get("lead"), objects.get("writeback")
    if lead is None or writeback is None or lead.spec.sobject.lower() != writeback.spec.sobject.lower():
        return []
    out = []
    for name in _READ_BACK:
        written, read = writeback.attrs.get(name), lead.attrs.get(name)
        if written is None or read is None or len(read.fields) != 1:
            continue
        if read.fields[0].lower() != written.fields[0].lower():
            out.append(writeback.problem(
                ("fields", name), f"{name} is written to {written.fields[0]} but read back from {read.fields[0]} "
                f"({lead.file}): the connector never sees what it wrote there, nor a person's change to it",
                f"read it from the same field under [lead.fields]: {name} = \"{written.fields[0]}\" (with a map from "
                "your values back to the router's when writeback maps them)", severity="warning"))
    return out


def _shipped(section: str) -> tuple[str, Path] | None:
    """A section's sobject as shipped, and the file of mappings/defaults/ that holds it."""
    import tomllib

    for path in sorted(DEFAULTS_DIR.glob("*.toml")):
        body = tomllib.loads(path.read_text(encoding="utf-8")).get(section)
        if isinstance(body, dict) and isinstance(body.get("sobject"), str):
            return body["sobject"], path
    return None


# what a key should look like, for values of the wrong shape
_SHAPE_HINTS = {
    "transforms": 'write a list, e.g. transforms = ["trim", "lower"]',
    "map": 'write a table, e.g. map = { Hot = "A", Cold = "C" }',
    "flags": 'write a table of value = checkbox field, e.g. flags = { Analytics = "Wants_BI__c" }',
    "required": "write required = true or required = false",
    "optional": "write optional = true (or leave the key out: the field must then exist in the org)",
    "length": "write a whole number, e.g. length = 255",
    "fields": 'write a table: [<section>.fields] with lines like company = "Company"',
    "extra": 'write a table: [<section>.extra] with lines like segment = "Segment__c"',
    "sobject": 'write the API name as text, e.g. sobject = "Lead"',
    "filter": "write a SOQL condition as text, e.g. filter = \"IsPartner = true\"",
    "split": 'write the separator as text, e.g. split = ","',
}


def _pydantic_problems(exc: ValidationError, source: Source, prefix: tuple, keys: tuple[str, ...]) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if len(loc) >= 2 and loc[-1] == "name" and isinstance(loc[-2], int):
            loc = loc[:-1]  # transforms.1, not transforms.1.name: ops wrote no `name`
        path = prefix + loc
        key = ".".join(str(p) for p in path)
        message = err["msg"].removeprefix("Value error, ")
        # pydantic speaks Python; ops read TOML
        for python, toml in (("a valid dictionary or instance of TransformSpec", "a transform name or a table"),
                             ("a valid dictionary", "a table"), ("a valid tuple", "a list"), ("a valid list", "a list")):
            message = message.replace(python, toml)
        fix = None
        if err["type"] == "extra_forbidden":
            bad = str(loc[-1])
            message = f"unknown key {bad!r}"
            fix = fix_meant(bad, keys if len(loc) == 1 else ("options",), f"keys allowed here: {', '.join(keys)}")
        elif err["type"] == "missing":
            message = f"{loc[-1]} is missing"
            where = ".".join(str(p) for p in path[:-1])
            fix = f"add it under [{where}]" + (f": {_SHAPE_HINTS[str(loc[-1])]}" if str(loc[-1]) in _SHAPE_HINTS else "")
            shipped = _shipped(str(prefix[0])) if loc == ("sobject",) and prefix else None
            if shipped is not None:
                # a section of the org's own replaces the shipped one whole: its sobject, and the file to start from
                fix = (f'add it under [{where}]: sobject = "{shipped[0]}" (the shipped one); a [{prefix[0]}] section '
                       f"of your own replaces the shipped one whole, so start from a copy of {shipped[1]}")
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            message = f"{message} (got {err['input']!r})"
            fix = _SHAPE_HINTS.get(str(loc[-1]) if loc else "")
        if "unknown transform" in message:
            bad = message.split("unknown transform ", 1)[1].strip("'\"")
            fix = fix_meant(bad, TRANSFORMS, f"transforms: {', '.join(TRANSFORMS)}")
        if "unknown type" in message:
            bad = message.split("unknown type ", 1)[1].split(";")[0].strip("'\"")
            message = message.split(";")[0]
            fix = fix_meant(bad, TYPES, f"types: {', '.join(TYPES)}")
        out.append(Problem(source.file, source.lines.line(path), key, message, fix))
    return out


def _load_object(kind: Kind, source: Source, body: Any, problems: list[Problem]) -> ObjectMapping | None:
    if not isinstance(body, dict):
        problems.append(Problem(source.file, source.lines.line((kind.name,)), kind.name,
                                f"[{kind.name}] must be a table", f"write it as [{kind.name}] with sobject = … and [{kind.name}.fields]"))
        return None
    try:
        spec = ObjectSpec.model_validate(body)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, source, (kind.name,), OBJECT_KEYS))
        return None
    mapping = ObjectMapping(kind, spec, source)
    if spec.filter is not None:
        if kind.writes:
            problems.append(mapping.problem(("filter",), "write-back takes no filter", "remove it"))
        for message in syntax_problems(spec.filter):
            problems.append(mapping.problem(("filter",), f"filter {spec.filter!r}: {message}",
                                            "write a SOQL condition such as IsPartner = true AND Type = 'Queue'"))
    parsed: dict[tuple[str, str], AttributeSpec] = {}
    for table in ("fields", "extra"):
        for name, raw in getattr(spec, table).items():
            if table == "fields" and name not in kind.attrs:
                fix = (f"move it to [{kind.name}.extra] if it is an attribute of your own"
                       if kind.extras else f"{kind.name} has no extra attributes; remove it")
                problems.append(mapping.problem((table, name), f"{name!r} is not a standard {kind.name} attribute",
                                                fix_meant(name, kind.attrs, fix)))
                continue
            try:
                parsed[(table, name)] = AttributeSpec.model_validate(raw)
            except ValidationError as exc:
                problems.extend(_pydantic_problems(exc, source, (kind.name, table, name), ATTRIBUTE_KEYS))
    # every attribute the file maps, its own problems (a mistyped transform) named once, at it
    known = [n for n in spec.fields if n in kind.attrs] + list(spec.extra)
    # getters resolve lazily, so the order of attributes in the file does not matter
    ctx = _Context(_Merged(mapping), known)
    for (table, name), attr_spec in parsed.items():
        compiled = _attribute(mapping, table, name, attr_spec, ctx, problems)
        if compiled is not None:
            (mapping.attrs if table == "fields" else mapping.extras)[name] = compiled
    for name, attr in kind.attrs.items():
        if attr.required and name not in spec.fields:
            problems.append(mapping.problem(("fields",), f"{name} must be mapped: every {kind.name} needs it",
                                            f"add {name} = \"<Salesforce field>\" under [{kind.name}.fields]"))
    return mapping


class _Merged:
    def __init__(self, mapping: ObjectMapping):
        self._m = mapping

    def __getitem__(self, name: str) -> CompiledAttribute:
        return self._m.attrs.get(name) or self._m.extras[name]


def _attribute(mapping: ObjectMapping, table: str, name: str, spec: AttributeSpec, ctx: _Context,
               problems: list[Problem]) -> CompiledAttribute | None:
    kind = mapping.kind
    path = (table, name)
    attr: Attr | None = None
    if table == "fields":
        attr = kind.attrs[name]
        type_name = spec.type or attr.type
        if type_name != attr.type and (attr.type, type_name) not in _COMPATIBLE:
            problems.append(mapping.problem(path + ("type",), f"type {type_name!r} does not fit {name}, which is {attr.type}",
                                            f"remove `type` or write type = \"{attr.type}\""))
            return None
    else:
        if not kind.extras:
            problems.append(mapping.problem(path, f"{kind.name} has no extra attributes",
                                            f"remove [{kind.name}.extra]"))
            return None
        if not _IDENT.match(name) or keyword.iskeyword(name):
            problems.append(mapping.problem(path, f"extra attribute {name!r} must be a lower-case identifier usable in rule expressions",
                                            "use letters, digits and underscores, e.g. partner_segment"))
            return None
        if name in RESERVED_NAMES:
            problems.append(mapping.problem(path, f"extra attribute {name!r} is a word of the rule language "
                                                  f"(a rule reading {name} never means this attribute)",
                                            f"name it for what it holds, e.g. {kind.name}_{name}"))
            return None
        if kind.name == "lead" and name == LEAD_SCORE:
            problems.append(mapping.problem(path, f"extra attribute {name!r} is the learner's lead-potential score "
                                                  "(rules read it as score; a predictive rule overwrites it)",
                                            "name yours for where it comes from, e.g. marketing_score"))
            return None
        if name in kind.attrs:
            problems.append(mapping.problem(path, f"{name!r} is a standard {kind.name} attribute",
                                            f"map it under [{kind.name}.fields] instead"))
            return None
        type_name = spec.type or "string"
    if kind.writes:
        return _writeback_attribute(mapping, path, name, spec, attr, type_name, problems)
    if spec.length is not None:
        problems.append(mapping.problem(path + ("length",), "length only applies to write-back fields",
                                        "remove it"))
    if spec.optional:
        problems.append(mapping.problem(path + ("optional",), "optional only applies to write-back fields "
                                        f"([writeback.fields]): every field [{kind.name}] reads must exist in the org, "
                                        "a read naming a missing field fails",
                                        "remove it, or deploy the field (salesforce/) before mapping it"))
    vocab = kind.vocab.get(name, ()) if table == "fields" else ()
    if vocab:
        _vocab_warnings(mapping, path, name, spec, vocab, problems)
    try:
        return compile_attribute(name, spec, type_name, attr, ctx, vocab)
    except LoadProblem as exc:
        problems.append(mapping.problem(path + exc.path, str(exc), exc.fix))
        return None


def _vocab_warnings(mapping: ObjectMapping, path: tuple, name: str, spec: AttributeSpec, vocab: tuple[str, ...],
                    problems: list[Problem]) -> None:
    """Values the router does not know by name: allowed (an org may have more tiers), but said."""
    folded = {v.casefold() for v in vocab}
    written: list[tuple[tuple, Any]] = [((("map", k),), v) for k, v in (spec.map or {}).items()]
    written += [((("map_default",),), spec.map_default), ((("default",),), spec.default),
                ((("constant",),), spec.constant)]
    for (where,), value in written:
        if isinstance(value, str) and value.strip().casefold() not in folded:
            problems.append(mapping.problem(path + where, f"{value!r} is not a {name} the router knows",
                                            fix_meant(value, vocab, f"the router knows: {', '.join(vocab)}"),
                                            severity="warning"))


def _writeback_attribute(mapping: ObjectMapping, path: tuple, name: str, spec: AttributeSpec, attr: Attr | None,
                         type_name: str, problems: list[Problem]) -> CompiledAttribute | None:
    before = len(problems)
    if len(spec.field) != 1 or spec.flags is not None or spec.constant is not UNSET:
        problems.append(mapping.problem(path, "a write-back attribute names exactly one field to write",
                                        f"write {name} = \"Field__c\""))
    elif "." in spec.field[0]:
        problems.append(mapping.problem(path + ("field",), f"cannot write through a relationship path ({spec.field[0]})",
                                        "name a field of the written object itself"))
    if spec.transforms:
        problems.append(mapping.problem(path + ("transforms",), "write-back takes no transforms, only a value map",
                                        "use map = { Offered = \"Your picklist value\" }"))
    if spec.required or spec.default is not UNSET:
        problems.append(mapping.problem(path, "required/default do not apply to write-back", "remove them"))
    vocab = mapping.kind.vocab.get(name, ())
    folded = {v.casefold() for v in vocab}
    for key in (spec.map or {}) if vocab else ():
        if key.strip().casefold() not in folded:
            problems.append(mapping.problem(path + ("map", key), f"the router never writes {key!r} as {name}",
                                            fix_meant(key, vocab, f"map keys are the router's values: {', '.join(vocab)}")))
    if len(problems) != before:
        return None
    return CompiledAttribute(name, type_name, spec.field[0], lambda r: None, spec.field, spec)
