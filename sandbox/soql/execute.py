"""Running a query against an org: filter, order, slice; render rows on demand.

`execute` returns the store's own record dicts (no copies) and renders JSON only for
the rows a caller actually sends, one page at a time, through `QueryResult.render`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from functools import lru_cache, partial
from itertools import islice

from sandbox.soql import aggregate
from sandbox.soql import compile as cq
from sandbox.soql.bind import POLYMORPHIC_TYPE, Binder, ChildPlan, Hop, Path, Plan, child_levels
from sandbox.soql.parser import parse

DEFAULT_VERSION = "62.0"


def json_value(v):
    """A stored value as Salesforce writes it in JSON."""
    if isinstance(v, datetime):
        if v.utcoffset():
            v = v.astimezone(timezone.utc)
        return f"{v:%Y-%m-%dT%H:%M:%S}.{v.microsecond // 1000:03d}+0000"
    if isinstance(v, date):
        return v.isoformat()
    return v


class _Node:
    """One object level of the SELECT list: its fields and nested relationships, in order."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, object]] = []  # (key, field reader | (_Node, hop))
        self.children: dict[str, _Node] = {}


class _Renderer:
    def __init__(self, plan: Plan, ctx: cq.Context, version: str, include_deleted: bool = False,
                 also: Callable[[dict], bool] | None = None):  # fmt: skip
        self.also = also
        self.base = f"/services/data/v{version}/sobjects/"
        self.ctx = ctx
        self.root_type = plan.sobject.name
        self.root = _Node()
        self.children: list[_Children] = []
        pending = list(plan.children)
        for i, path in enumerate(plan.fields):
            while pending and pending[0].at == i:
                self._add_children(pending.pop(0), version, include_deleted)
            self._add(path)
        for child in pending:
            self._add_children(child, version, include_deleted)

    def _add_children(self, child: ChildPlan, version: str, include_deleted: bool) -> None:
        children = _Children(child, self.ctx, version, include_deleted, self.also)
        self.children.append(children)
        # a reader like a field's: json_value passes the nested result through unchanged
        self.root.entries.append((child.relationship, children.render))

    def weigh(self, record: dict) -> int:
        """The record and every child record rendered with it: what counts toward a batch."""
        return 1 + sum(c.weigh(record) for c in self.children)

    def _add(self, path: Path) -> None:
        node = self.root
        for i, hop in enumerate(path.hops):
            child = node.children.get(hop.relationship)
            if child is None:
                child = node.children[hop.relationship] = _Node()
                node.entries.append((hop.relationship, (child, self._follow(hop))))
            node = child
        if path.hops and path.hops[-1].polymorphic:
            read = cq.polymorphic_value(path, self.ctx)
        elif path.field is not None and path.field.formula is not None:
            read = cq.formula_reader(path.field, self.ctx)
        else:
            name = path.name
            read = lambda rec: rec.get(name)  # noqa: E731
        node.entries.append((path.name, read))

    def _follow(self, hop: Hop) -> Callable[[dict], tuple[str, dict] | None]:
        """From a record to (object name, parent record) along one lookup."""
        fk = hop.fk
        tables = {self.ctx.prefix(t): (t, self.ctx.table(t)) for t in hop.targets}

        def follow(rec: dict):
            ref = rec.get(fk)
            if not ref:
                return None
            hit = tables.get(ref[:3])
            if hit is None:
                return None
            parent = hit[1].get(ref)
            return (hit[0], parent) if parent is not None and not parent["IsDeleted"] else None

        type_name = POLYMORPHIC_TYPE if hop.polymorphic else None
        follow.type_name = type_name  # type: ignore[attr-defined]
        return follow

    def render(self, record: dict, sobject: str, node: _Node, type_name: str | None = None) -> dict:
        out: dict = {"attributes": {"type": type_name or sobject, "url": f"{self.base}{sobject}/{record['Id']}"}}
        for key, entry in node.entries:
            if isinstance(entry, tuple):
                child, follow = entry
                hit = follow(record)
                out[key] = None if hit is None else self.render(hit[1], hit[0], child, follow.type_name)
            else:
                out[key] = json_value(entry(record))
        return out


class _Children:
    """One subquery's records per parent: matched, ordered and limited once per execution
    (the child table is scanned once, not once per parent), rendered per page."""

    def __init__(self, child: ChildPlan, ctx: cq.Context, version: str, include_deleted: bool,
                 also: Callable[[dict], bool] | None = None):  # fmt: skip
        plan = child.plan
        where = cq.predicate(plan.where, ctx)
        fk = child.fk
        by_parent: dict[str, list[dict]] = {}
        for row in ctx.table(plan.sobject.name).values():
            if (row["IsDeleted"] and not include_deleted) or (where is not None and not where(row)):
                continue
            if also is not None and not also(row):  # the caller's sharing holds for child records too
                continue
            parent = row.get(fk)
            if parent:
                by_parent.setdefault(parent, []).append(row)
        window = slice(plan.offset, None if plan.limit is None else plan.offset + plan.limit)
        for parent, rows in by_parent.items():
            if plan.order_by:
                cq.sort_rows(rows, plan.order_by, ctx)
            by_parent[parent] = rows[window]
        self.by_parent = by_parent
        self.renderer = _Renderer(plan, ctx, version, include_deleted, also)
        self.sobject = plan.sobject.name

    def render(self, record: dict) -> dict | None:
        """Salesforce's nested query result, or null when the record has no such children;
        all of them in one batch (done), however many."""
        rows = self.by_parent.get(record["Id"])
        if not rows:
            return None
        r = self.renderer
        return {"totalSize": len(rows), "done": True,
                "records": [r.render(row, self.sobject, r.root) for row in rows]}  # fmt: skip

    def weigh(self, record: dict) -> int:
        rows = self.by_parent.get(record["Id"], ())
        if not self.renderer.children:
            return len(rows)
        return sum(self.renderer.weigh(row) for row in rows)


def _render_aggregate(row: dict) -> dict:
    out: dict = {"attributes": {"type": "AggregateResult"}}
    for key, value in row.items():
        out[key] = json_value(value)
    return out


class QueryResult:
    """What `execute` found: `rows` are the store's records, in order, after OFFSET/LIMIT.

    For an aggregate query (`is_aggregate`) `rows` are the AggregateResult rows as
    `{key: value}`, all of them in one batch: Salesforce has no query locator for them.
    """

    __slots__ = ("total_size", "rows", "is_count", "sobject", "is_aggregate", "weigh", "_renderer", "_lock")

    def __init__(
        self, total_size: int, rows: Sequence[dict], is_count: bool, sobject: str, renderer, lock,
        is_aggregate: bool = False, weigh: Callable[[dict], int] | None = None,
    ):  # fmt: skip
        self.total_size = total_size
        self.rows = rows
        self.is_count = is_count
        self.sobject = sobject
        self.is_aggregate = is_aggregate
        # with subqueries: a row and its child records, which count toward the batch size
        # ("Child objects count toward the number of records for the batch size"); else None
        self.weigh = weigh
        self._renderer = renderer
        self._lock = lock

    def render(self, row: dict) -> dict:
        """One record in Salesforce's JSON shape: attributes, selected fields, nested parents."""
        with self._lock:
            return self._renderer(row)

    def __repr__(self) -> str:
        return f"QueryResult({self.sobject}, total_size={self.total_size}, is_count={self.is_count})"


def plan_for(soql: str, schema, version: str = DEFAULT_VERSION) -> Plan:
    """The bound plan for `soql` on `schema` at API `version` (which sets how deep subqueries nest)."""
    return _plan_for(soql, schema, child_levels(version))


@lru_cache(maxsize=256)
def _plan_for(soql: str, schema, max_child_levels: int) -> Plan:
    """Cached per (text, schema, nesting allowed) since binding long `Id IN (...)` lists costs."""
    return Binder(soql, schema, max_child_levels).plan(parse(soql))


def execute(
    soql: str, org, *, include_deleted: bool = False, version: str = DEFAULT_VERSION,
    also: Callable[[dict], bool] | None = None, schema=None, match: Callable[[dict], bool] | None = None,
) -> QueryResult:  # fmt: skip
    """Run one SOQL query on `org`; raises SoqlError as Salesforce would refuse it.

    `also`: the caller's sharing, a row test ANDed to the WHERE before ORDER BY and LIMIT;
    subqueries' child records and semi-joins' inner rows pass it too. `match`: a further
    row test for the root rows only (SOSL's search match). `schema`: the objects and fields as the caller may see them (field-level
    security), the org's own by default.
    """
    plan = plan_for(soql, schema if schema is not None else org.schema, version)
    with org.lock:
        ctx = cq.Context(org, org.clock.now())
        ctx.also = also
        table = ctx.table(plan.sobject.name)
        where = cq.predicate(plan.where, ctx)
        for extra in (also, match):
            if extra is not None:
                where = extra if where is None else cq._all([where, extra])
        wanted = cq.id_candidates(plan.where) if plan.where is not None else None
        source = table.values() if wanted is None else [r for r in map(table.get, wanted) if r is not None]
        if include_deleted:
            matches = source if where is None else filter(where, source)
        elif where is None:
            matches = (r for r in source if not r["IsDeleted"])
        else:
            matches = (r for r in source if not r["IsDeleted"] and where(r))
        if plan.aggregation is not None:
            groups = aggregate.run(plan, ctx, matches)
            return QueryResult(len(groups), groups, False, plan.sobject.name, _render_aggregate, org.lock, True)
        offset, limit = plan.offset, plan.limit
        if plan.order_by and not plan.is_count:
            rows = list(matches)
            cq.sort_rows(rows, plan.order_by, ctx)
            rows = rows[offset : None if limit is None else offset + limit]
        else:
            # no order to honour: stop scanning as soon as the page window is full
            rows = list(islice(matches, offset, None if limit is None else offset + limit))
        weigh = None
        if plan.is_count:
            renderer = None
        else:
            r = _Renderer(plan, ctx, version, include_deleted, also)
            # bound once, without a Python frame per row in between: rendering is the hot path
            renderer = partial(r.render, sobject=r.root_type, node=r.root)
            weigh = r.weigh if r.children else None
    if plan.is_count:
        return QueryResult(len(rows), (), True, plan.sobject.name, None, org.lock)
    return QueryResult(len(rows), rows, False, plan.sobject.name, renderer, org.lock, weigh=weigh)
