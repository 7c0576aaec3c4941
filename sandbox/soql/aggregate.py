"""Aggregate queries: the matching records grouped, measured, filtered by HAVING, sorted.

    SELECT Routing_Status__c, COUNT(Id) n FROM Lead GROUP BY Routing_Status__c

Each group becomes one tuple of values, the GROUP BY expressions first and then every
aggregate function the query needs (in SELECT, HAVING or ORDER BY), so HAVING and
ORDER BY reuse the row predicate and sort of `compile` by slot. Rows come back as
`{key: value}` in SELECT order, keys being aliases, `exprN` or the grouped field's name.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from sandbox.soql import compile as cq
from sandbox.soql.bind import Measure, Plan
from sandbox.soql.errors import SoqlError

# A REST query answers an aggregate query in one batch: it has no query locator.
MAX_GROUPS = 2000
EXCEEDED_ID_LIMIT = "EXCEEDED_ID_LIMIT"
TOO_MANY_GROUPS = "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch"


def _present(v) -> bool:
    return v is not None and v != ""  # Salesforce stores no empty strings: '' is null


def _measure(m: Measure, ctx: cq.Context) -> Callable[[list], object]:
    get = cq.value_getter(m.path, ctx, m.date_fn)
    fn = m.fn
    if fn == "COUNT":
        if not m.path.hops and m.path.name == "Id" and m.date_fn is None:
            return len  # every record has an Id
        return lambda rows: sum(1 for r in rows if (v := get(r)) is not None and v != "")
    if fn == "COUNT_DISTINCT":
        norm = cq._NORMALISE.get(m.path.kind, cq._same)
        return lambda rows: len({norm(v) for r in rows if _present(v := get(r))})
    if fn in ("SUM", "AVG"):
        as_float = m.result_type != "int"

        def total(rows: list):
            values = [v for r in rows if (v := get(r)) is not None]
            if not values:
                return None
            s = sum(values)
            if fn == "AVG":
                return s / len(values)
            if as_float:
                s = float(s)
                return round(s, m.scale) if m.scale is not None else s
            return s

        return total
    # MIN / MAX: picklists by definition order, text case-insensitively, the rest as they are
    if m.picklist:
        rank = {v.casefold(): i for i, v in enumerate(m.picklist)}
        key: Callable = lambda v: (rank.get(v.casefold(), len(rank)), v.casefold())  # noqa: E731
    elif m.path.kind == "text":
        key = str.casefold
    else:
        key = cq._same
    pick = min if fn == "MIN" else max
    return lambda rows: pick((v for r in rows if _present(v := get(r))), key=key, default=None)


def run(plan: Plan, ctx: cq.Context, matches: Iterable[dict]) -> list[dict]:
    """The AggregateResult rows of `plan` over the matching records, in order, sliced."""
    agg = plan.aggregation
    assert agg is not None
    keys = [
        (cq.value_getter(g.path, ctx, g.fn), cq._NORMALISE.get(g.path.kind, cq._same)) for g in agg.groups
    ]
    members: dict = {}  # group key -> its records
    shown: dict = {}  # group key -> the group's values as the first of its records has them
    if not keys:  # no GROUP BY: one row, even over no records (COUNT(Id) = 0)
        members[()] = list(matches)
        shown[()] = ()
    elif len(keys) == 1:  # the common case, without a tuple per record
        ((get, norm),) = keys
        for r in matches:
            v = get(r)
            k = norm(v)  # text groups ignore case and '' is null, as Salesforce compares text
            rows = members.get(k)
            if rows is None:
                members[k] = rows = []
                shown[k] = (v if k is not None else None,)
            rows.append(r)
    else:
        for r in matches:
            raw = tuple(get(r) for get, _ in keys)
            k = tuple(norm(v) for (_, norm), v in zip(keys, raw))
            rows = members.get(k)
            if rows is None:
                members[k] = rows = []
                shown[k] = tuple(v if n is not None else None for v, n in zip(raw, k))
            rows.append(r)
    measures = [_measure(m, ctx) for m in agg.measures]
    groups = [shown[k] + tuple(measure(rows) for measure in measures) for k, rows in members.items()]
    having = cq.predicate(agg.having, ctx)
    if having is not None:
        groups = [g for g in groups if having(g)]
    if agg.order_by:
        cq.sort_rows(groups, agg.order_by, ctx)
    offset, limit = plan.offset, plan.limit
    groups = groups[offset : None if limit is None else offset + limit]
    if len(groups) > MAX_GROUPS:
        raise SoqlError(EXCEEDED_ID_LIMIT, TOO_MANY_GROUPS)
    outputs = [(o.key, o.slot) for o in agg.outputs]
    return [{key: g[slot] for key, slot in outputs} for g in groups]
