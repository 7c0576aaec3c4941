"""The org's objects and fields as describe() reports them.

Standard objects are declared once in `sandbox.standard`; the product's custom fields
are read from the SFDX metadata under `salesforce/` (`sandbox.metadata`), so the
sandbox and the package an admin deploys cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# describe types the sandbox knows; anyType is the History objects' Old/NewValue
FIELD_TYPES = frozenset(
    "id string textarea picklist multipicklist boolean int double currency percent "
    "date datetime reference email phone url anyType".split()
)


@dataclass
class FieldDef:
    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    picklist_values: list[str] = field(default_factory=list)
    restricted_picklist: bool = False
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    required: bool = False
    default: Any = None
    custom: bool = False
    # beyond the shared contract: field history tracking and describe extras
    track_history: bool = False
    calculated: bool = False  # Name on Lead/Contact/User: derived, never written
    description: str | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}; use one of {sorted(FIELD_TYPES)}")


@dataclass
class ObjectDef:
    name: str
    label: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef]
    label_plural: str = ""
    createable: bool = True
    updateable: bool = True
    deletable: bool = True

    def __post_init__(self) -> None:
        self._reindex()

    def _reindex(self) -> None:
        self._by_lower = {name.lower(): f for name, f in self.fields.items()}
        self._by_rel = {f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name}

    def add_field(self, f: FieldDef) -> None:
        self.fields[f.name] = f
        self._reindex()

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        return self._by_rel.get(name.lower())


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
    """`salesforce/` next to the package: where the repo keeps the deployable metadata."""
    return Path(__file__).resolve().parent.parent / "salesforce"


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
    from sandbox import metadata, standard

    objects = standard.objects()
    for obj_name, fdef in metadata.custom_fields(sfdx_dir):
        obj = objects.get(obj_name)
        if obj is None:
            raise ValueError(
                f"salesforce metadata declares fields on {obj_name}, which the sandbox does not emulate; "
                f"add {obj_name} to sandbox/standard.py or move the field"
            )
        obj.add_field(fdef)
    standard.name_history_fields(objects)
    return Schema(objects)
