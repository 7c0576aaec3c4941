"""Who worked each company as the backtest replays its leads: the incumbents known at each
lead's time, never one learned later (a rule with `prefer_incumbent` was otherwise replayed
as if nobody worked any company).

Learned as the live connector learns them (jobs/incumbents.py): a partner works a company
from the moment its rep accepted a lead of it (the offers table's accepted_at, as
jobs/poll.py records the answer; a pool lead taken alike), and from an Opportunity of the
company with it as partner, dated as the partner sync dates it (open: its last change;
won: the end of its CloseDate) — read from the org as it is now, so an Opportunity
changed after a lead, or lost since, is not known to that lead. The state's incumbents
table adds the dated facts it keeps (those the org no longer shows, or an org whose
Opportunities our user cannot read); an undated one (learned before facts had dates)
could be later than the lead, so it is left out. A fact older than INCUMBENT_DAYS before
a lead is forgotten, as the partner sync forgets it.

The facts are sorted by time once, one small tuple each (the acceptances of the window
and of the year before it, the Opportunities), and each replay walks them beside its
leads (`Walk.until`): a replay keeps only the incumbents of the last year.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from jobs import incumbents
from jobs.state import incumbents as rows
from jobs.state.schema import leads as LEADS
from jobs.state.schema import offers as OFFERS
from jobs.timeutil import as_utc
from rules.model import Lead
from rules.state import INCUMBENT_DAYS, RoutingState, incumbent_keys, lead_domain

Fact = tuple[int, str, str, str]  # (since: epoch seconds, key, partner, how)


class Walk:
    """One replay's way through the facts, in time order."""

    def __init__(self, facts: list[Fact]) -> None:
        self.facts, self.next, self.day = facts, 0, None

    def until(self, state: RoutingState, at: datetime) -> None:
        """Hand `state` every fact known at `at` (learned at or before it), the year's only."""
        cut, facts, kept = int(at.timestamp()), self.facts, state.incumbents
        i = self.next
        while i < len(facts) and facts[i][0] <= cut:
            since, key, partner, how = facts[i]
            old = kept.get(key)
            if old is None or old[1] <= since:  # of two partners on a company the later wins
                kept[key] = (partner, since, how)
            i += 1
        self.next = i
        if at.date() != self.day:  # once a replayed day, as the partner sync forgets them daily
            self.day = at.date()
            state.forget_incumbents(at - timedelta(days=INCUMBENT_DAYS))


def known(cx: Any, conn: Connection, to_lead: Callable[[Any], Any], since: datetime, now: datetime) -> list[Fact]:
    """Every dated fact of who worked which company, from a year before `since` up to
    `now`, oldest first."""
    start = since - timedelta(days=INCUMBENT_DAYS)
    cut = int(start.timestamp())
    facts: list[Fact] = []
    names: dict[str, str] = {}  # one string per partner, not one per fact

    def add(at: datetime, partner: str, company: Any, domain: Any, how: str) -> None:
        t = int(at.timestamp())
        if t >= cut:
            partner = names.setdefault(partner, partner)
            facts.extend((t, k, partner, how) for k in incumbent_keys(company, domain))

    taken = select(OFFERS.c.partner_id, OFFERS.c.accepted_at, LEADS.c.record).join(
        LEADS, LEADS.c.lead_id == OFFERS.c.lead_id).where(OFFERS.c.accepted_at >= start,
                                                          OFFERS.c.partner_id.is_not(None))
    for r in conn.execute(taken):
        lead = to_lead(r.record) if r.record else None
        if isinstance(lead, Lead):
            add(as_utc(r.accepted_at), r.partner_id, lead.company, lead_domain(lead), "lead")
    field = incumbents.partner_field(cx.mappings)
    for partner, name, website, at in incumbents.dated(incumbents.read(cx, now, None, won_since=start.date()),
                                                       field, now):
        add(at, partner, name, website, "opportunity")
    for key, (partner, at, how) in rows.read_all(conn).items():
        if at >= cut:  # undated (0): when it was learned is unknown
            facts.append((at, key, names.setdefault(partner, partner), how))
    facts.sort()
    return facts
