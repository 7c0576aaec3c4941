"""A bound query -> Python closures: field getters, one row predicate, sort passes.

Built once per execution (date literals depend on the org clock) and then run per
row with no tree walking: each comparison becomes a closure over its already
normalised literal. Values are normalised the way Salesforce compares them: text
case-insensitively (and '' reads as null, since Salesforce stores no empty strings),
ids in their 18-char form, multi-select picklists as sets of values.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import date, datetime, time, timezone

from sandbox import formula
from sandbox.soql import ast, dates
from sandbox.soql.bind import BoundOrder, Hop, Path, Test

Row = dict
Getter = Callable[[Row], object]
Predicate = Callable[[Row], bool]

_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class Context:
    """What closures need from the org for one execution: its tables and today's date."""

    def __init__(self, org, now: datetime):
        self.org = org
        self.now = now.astimezone(timezone.utc)
        self.today = self.now.date()
        self._tables: dict[str, dict] = {}
        self._fiscal: tuple[int, bool] | None = None
        self.also: Callable[[Row], bool] | None = None  # the caller's sharing, for semi-joins' inner rows

    @property
    def fiscal(self) -> tuple[int, bool]:
        """(the month the org's fiscal year starts, whether a fiscal year is named by the
        year it starts in): the Organization row's FiscalYearStartMonth and
        UsesStartDateAsFiscalYearName; January and the ending year when there is no row."""
        if self._fiscal is None:
            row = next((r for r in self.table("Organization").values()), None) if self.org.schema.object("Organization") else None
            month = (row or {}).get("FiscalYearStartMonth") or 1
            self._fiscal = (int(month) if 1 <= int(month) <= 12 else 1, bool((row or {}).get("UsesStartDateAsFiscalYearName")))
        return self._fiscal

    def table(self, sobject: str) -> dict:
        t = self._tables.get(sobject)
        if t is None:
            t = self._tables[sobject] = self.org.table(sobject)
        return t

    def prefix(self, sobject: str) -> str:
        return self.org.schema.object(sobject).key_prefix


# ---- getters --------------------------------------------------------------------------
def _step(prev: Callable[[Row], Row | None] | None, hop: Hop, ctx: Context) -> Callable[[Row], Row | None]:
    """From a record (or what `prev` reached) to the record its lookup `hop` points at.

    A parent in the recycle bin reads as no parent: Salesforce clears lookups to it.
    """
    fk = hop.fk
    if hop.polymorphic:
        by_prefix = {ctx.prefix(t): ctx.table(t) for t in hop.targets}

        def find(ref):
            table = by_prefix.get(ref[:3]) if ref else None
            rec = table.get(ref) if table is not None else None
            return rec if rec is not None and not rec["IsDeleted"] else None
    else:
        table = ctx.table(hop.targets[0])

        def find(ref):
            rec = table.get(ref) if ref else None
            return rec if rec is not None and not rec["IsDeleted"] else None

    if prev is None:
        return lambda r: find(r.get(fk))

    def step(r: Row) -> Row | None:
        parent = prev(r)
        return find(parent.get(fk)) if parent is not None else None

    return step


def parent_getter(hops: tuple[Hop, ...], ctx: Context) -> Callable[[Row], Row | None] | None:
    get = None
    for hop in hops:
        get = _step(get, hop, ctx)
    return get


def polymorphic_value(path: Path, ctx: Context) -> Callable[[Row], object]:
    """Read a Name-object field from whichever object the record is (by its id prefix)."""
    by_prefix = {ctx.prefix(obj): name for obj, name in path.per_target}
    objects = {ctx.prefix(obj): obj for obj, _ in path.per_target}
    if path.name == "Type":
        # Salesforce answers Owner.Type with 'User' or 'Queue'
        def read(rec: Row):
            obj = objects.get(rec["Id"][:3])
            return "Queue" if obj == "Group" and rec.get("Type") == "Queue" else obj
    else:
        def read(rec: Row):
            name = by_prefix.get(rec["Id"][:3])
            return rec.get(name) if name else None
    return read


def formula_reader(f, ctx: Context) -> Getter:
    """A formula field's value, evaluated by the org's clock as this query runs: Salesforce
    stores none, so SELECT, WHERE and ORDER BY all see what it is now (sandbox/formula.py)."""
    now = ctx.now
    return lambda r: formula.evaluate(f, r, now)


def getter(path: Path, ctx: Context) -> Getter:
    name = path.name
    f = path.field
    if f is not None and f.formula is not None and not (path.hops and path.hops[-1].polymorphic):
        read = formula_reader(f, ctx)
        if not path.hops:
            return read
        parent_of = parent_getter(path.hops, ctx)
        return lambda r: (read(p) if (p := parent_of(r)) is not None else None)
    if not path.hops:
        return lambda r: r.get(name)
    parent = parent_getter(path.hops, ctx)
    if path.hops[-1].polymorphic:
        read = polymorphic_value(path, ctx)

        def poly(r: Row):
            rec = parent(r)
            return read(rec) if rec is not None else None

        return poly

    def through(r: Row):
        rec = parent(r)
        return rec.get(name) if rec is not None else None

    return through


# ---- date functions (CALENDAR_YEAR(CreatedDate) ...): in UTC, the org's clock zone --------
def _date_function(name: str, fiscal: tuple[int, bool] = (1, False)) -> Callable[[object], object]:
    """Salesforce's date functions; FISCAL_X count from the month the org's fiscal year
    starts (`fiscal`: that month, and whether a year is named by its start), and
    FISCAL_YEAR names the year by the year it ends in unless the org says otherwise: in an
    org starting in April, 10 May 2026 is FISCAL_YEAR 2027, FISCAL_QUARTER 1, FISCAL_MONTH 2."""
    start, named_by_start = fiscal
    base = name if start != 1 else name.replace("FISCAL_", "CALENDAR_")
    if base == "HOUR_IN_DAY":
        return lambda v: None if v is None else v.astimezone(timezone.utc).hour
    if base == "DAY_ONLY":
        return lambda v: None if v is None else v.astimezone(timezone.utc).date()
    of_day: Callable[[date], int] = {
        "CALENDAR_YEAR": lambda d: d.year,
        "CALENDAR_MONTH": lambda d: d.month,
        "CALENDAR_QUARTER": lambda d: (d.month - 1) // 3 + 1,
        "DAY_IN_MONTH": lambda d: d.day,
        "DAY_IN_WEEK": lambda d: d.isoweekday() % 7 + 1,  # 1 = Sunday
        "DAY_IN_YEAR": lambda d: d.timetuple().tm_yday,
        "WEEK_IN_MONTH": lambda d: (d.day - 1) // 7 + 1,  # days 1-7 are week 1
        "WEEK_IN_YEAR": lambda d: (d.timetuple().tm_yday - 1) // 7 + 1,  # January 1-7 is week 1
        "FISCAL_MONTH": lambda d: (d.month - start) % 12 + 1,
        "FISCAL_QUARTER": lambda d: (d.month - start) % 12 // 3 + 1,
        "FISCAL_YEAR": lambda d: dates.fiscal_year_start(d, start).year + (0 if named_by_start else 1),
    }[base]

    def apply(v):
        if v is None:
            return None
        if isinstance(v, datetime):
            v = v.astimezone(timezone.utc).date()
        return of_day(v)

    return apply


def value_getter(path: Path, ctx: Context, fn: str | None = None, slot: int | None = None) -> Getter:
    """What a test or sort key reads: a record's field (through a date function), or one
    slot of an aggregate query's group."""
    if slot is not None:
        return operator.itemgetter(slot)
    get = getter(path, ctx)
    if fn is None:
        return get
    transform = _date_function(fn, ctx.fiscal if fn.startswith("FISCAL_") else (1, False))
    return lambda r: transform(get(r))


# ---- normalisers: a stored value -> the key Salesforce compares ----------------------
def _text(v):
    return v.casefold() if v else None  # '' and None are both null


def _multi(v):
    return frozenset(p.strip().casefold() for p in v.split(";") if p.strip()) if v else None


def _same(v):
    return v


_NORMALISE = {"text": _text, "multi": _multi}


def _bounds(value: tuple, kind: str, ctx: Context):
    _, word, n = value
    start, end = dates.date_range(word, n, ctx.today, ctx.fiscal[0])
    if kind == "datetime":
        return (datetime.combine(start, time(), timezone.utc), datetime.combine(end, time(), timezone.utc))
    return start, end


def _is_relative(v) -> bool:
    return isinstance(v, tuple) and len(v) == 3 and v[0] == "relative"


def _semi_join_values(plan, ctx: Context) -> frozenset:
    """The ids a semi-join's inner query selects: its live rows that pass its WHERE and the
    caller's sharing (ctx.also), ordered and limited as it says."""
    where = predicate(plan.where, ctx)
    also = ctx.also
    rows = [r for r in ctx.table(plan.sobject.name).values()
            if not r["IsDeleted"] and (where is None or where(r)) and (also is None or also(r))]  # fmt: skip
    if plan.order_by:
        sort_rows(rows, plan.order_by, ctx)
    if plan.offset or plan.limit is not None:
        rows = rows[plan.offset : None if plan.limit is None else plan.offset + plan.limit]
    get = getter(plan.fields[0], ctx)
    return frozenset(v for v in map(get, rows) if v is not None)


def _test(t: Test, ctx: Context) -> Predicate:
    get = value_getter(t.path, ctx, t.fn, t.slot)
    kind = t.path.kind
    norm = _NORMALISE.get(kind, _same)
    op = t.op

    if op in ("semi", "antisemi"):
        ids = _semi_join_values(t.values[0], ctx)
        if op == "semi":
            return lambda r: get(r) in ids
        return lambda r: get(r) not in ids  # an empty lookup is in no set: an anti-join keeps it

    if op == "like":
        rx = re.compile(t.values[0], re.IGNORECASE | re.DOTALL)
        match = rx.fullmatch
        return lambda r: (v := get(r)) is not None and match(v) is not None

    if op in ("includes", "excludes"):
        wanted = [_multi(v) or frozenset() for v in t.values if v is not None]

        def includes(r: Row) -> bool:
            have = _multi(get(r))
            return have is not None and any(w <= have for w in wanted)

        return includes if op == "includes" else (lambda r: not includes(r))

    if op in ("!=", "notin"):
        positive = _test(Test(t.path, "=" if op == "!=" else "in", t.values, t.fn, t.slot), ctx)
        return lambda r: not positive(r)

    if op in _ORDERING:
        value = t.values[0]
        if value is None:
            return lambda r: False
        if _is_relative(value):
            start, end = _bounds(value, kind, ctx)
            # a range literal: < and >= look at its start, <= and > at its end
            bound, cmp = {"<": (start, operator.lt), "<=": (end, operator.lt),
                          ">": (end, operator.ge), ">=": (start, operator.ge)}[op]  # fmt: skip
        else:
            bound, cmp = norm(value), _ORDERING[op]
            if bound is None:  # '' is null, and nothing is less or greater than null
                return lambda r: False
        return lambda r: (v := norm(get(r))) is not None and cmp(v, bound)

    # = and IN: exact values by set membership, relative dates by range
    ranges = [_bounds(v, kind, ctx) for v in t.values if _is_relative(v)]
    exact = {norm(v) for v in t.values if not _is_relative(v)}
    if not ranges:
        if len(exact) == 1:
            (only,) = exact
            if only is None:
                return lambda r: norm(get(r)) is None
            if norm is _same:
                return lambda r: get(r) == only
            return lambda r: norm(get(r)) == only
        if norm is _same:
            return lambda r: get(r) in exact
        return lambda r: norm(get(r)) in exact

    def in_range(r: Row) -> bool:
        v = get(r)
        if v in exact:
            return True
        return v is not None and any(s <= v < e for s, e in ranges)

    return in_range


def _all(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    a, b = preds[0], _all(preds[1:])
    return lambda r: a(r) and b(r)


def _any(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    a, b = preds[0], _any(preds[1:])
    return lambda r: a(r) or b(r)


def predicate(cond, ctx: Context) -> Predicate | None:
    if cond is None:
        return None
    if isinstance(cond, Test):
        return _test(cond, ctx)
    if isinstance(cond, ast.Not):
        inner = predicate(cond.item, ctx)
        return lambda r: not inner(r)
    preds = [predicate(c, ctx) for c in cond.items]
    return _all(preds) if isinstance(cond, ast.And) else _any(preds)


def id_candidates(cond) -> set[str] | None:
    """Ids the WHERE restricts the root Id to (`Id = x`, `Id IN (...)`, inside a top AND)."""
    tests = cond.items if isinstance(cond, ast.And) else (cond,)
    for t in tests:
        if isinstance(t, Test) and not t.path.hops and t.path.name == "Id" and t.op in ("=", "in"):
            return {v for v in t.values if v is not None}
    return None


# ---- ORDER BY ---------------------------------------------------------------------------
def _sort_value(order: BoundOrder) -> Callable[[object], object]:
    if order.picklist:
        rank = {v.casefold(): i for i, v in enumerate(order.picklist)}
        last = len(rank)
        return lambda v: (rank.get(v.casefold(), last), v.casefold())
    if order.path.kind == "text":
        return str.casefold
    return _same


def sort_rows(rows: list[Row], orders: tuple[BoundOrder, ...], ctx: Context) -> None:
    """Sort in place: one stable pass per run of keys sharing a direction, last run first."""
    runs: list[list[BoundOrder]] = []
    for o in orders:
        if runs and runs[-1][0].descending == o.descending:
            runs[-1].append(o)
        else:
            runs.append([o])
    for run in reversed(runs):
        descending = run[0].descending
        keys = [_key_part(o, ctx) for o in run]
        if len(keys) == 1:
            key = keys[0]
        elif len(keys) == 2:
            k1, k2 = keys
            key = lambda r: (k1(r), k2(r))  # noqa: E731
        else:
            key = lambda r: tuple(k(r) for k in keys)  # noqa: E731
        rows.sort(key=key, reverse=descending)


def _key_part(o: BoundOrder, ctx: Context) -> Callable[[Row], tuple]:
    """(rank, value): rank 1 for values; nulls get 0 or 2 so they land on the asked side.

    Nulls go first unless NULLS LAST, whichever the direction; with reverse=True the
    rank is mirrored so the null block still lands where it was asked for.
    """
    get, value = value_getter(o.path, ctx, o.fn, o.slot), _sort_value(o)
    first = not o.nulls_last
    null = ((2 if first else 0) if o.descending else (0 if first else 2), None)
    if value is _same:
        return lambda r: (1, v) if (v := get(r)) is not None else null
    return lambda r: (1, value(v)) if (v := get(r)) is not None and v != "" else null
