"""The org's objects and fields as describe() reports them.

Standard objects are declared once in `sandbox.standard`; the product's custom fields
are read from the SFDX metadata under `salesforce/` (`sandbox.metadata`), so the
sandbox and the package an admin deploys cannot drift apart.
"""
from __future__ import annotations

from pathlib import Path

# FieldDef and ObjectDef live below this module, where the standard objects and the
# SFDX metadata reader build them without importing the schema that gathers them.
from sandbox.definitions import FIELD_TYPES, FieldDef, ObjectDef  # noqa: F401 (re-exported)


class Schema:
    def __init__(self, objects: dict[str, ObjectDef]):
        self.objects = objects
        self._by_lower = {name.lower(): o for name, o in objects.items()}
        self._by_prefix = {o.key_prefix: o for o in objects.values()}

    def object(self, name: str) -> ObjectDef | None:
        return self._by_lower.get(name.lower())

    def object_for_id(self, id18: str) -> ObjectDef | None:
        return self._by_prefix.get(id18[:3]) if isinstance(id18, str) else None


def default_sfdx_dir() -> Path:
    """The SFDX project the custom fields come from. Under `sandbox/sfdx/force-app/main/default`,
    `objects` and `platformEventChannelMembers` link to the repo's `salesforce/` (the
    metadata an admin deploys), and a built wheel carries the files they reach as package
    data: installed or checked out, the sandbox reads what an admin deploys."""
    return Path(__file__).parent / "sfdx"


_default_schema: Schema | None = None


def load_schema(sfdx_dir: str | Path | None = None) -> Schema:
    """The schema; the default (repo metadata) one is read once per process and shared,
    since nothing changes a schema after loading."""
    global _default_schema
    if sfdx_dir is None:
        if _default_schema is None:
            _default_schema = _load(default_sfdx_dir())
        return _default_schema
    return _load(Path(sfdx_dir))


def _load(sfdx_dir: Path) -> Schema:
    from sandbox import formula, metadata, standard

    objects = standard.objects()
    for custom in metadata.custom_objects(sfdx_dir):
        objects[custom.name] = custom
    for obj_name, fdef in metadata.custom_fields(sfdx_dir):
        obj = objects.get(obj_name)
        if obj is None:
            raise ValueError(
                f"salesforce metadata declares fields on {obj_name}, which the sandbox does not emulate; "
                f"add {obj_name} to sandbox/standard.py or move the field"
            )
        obj.add_field(fdef)
    for obj in objects.values():
        for fdef in obj.fields.values():
            problem = formula.operand_problem(obj, fdef)
            if problem:
                raise ValueError(f"salesforce metadata: {problem}")
    standard.name_history_fields(objects)
    return Schema(objects)
