"""Figures a channel manager reads: totals, per-partner outcomes, reasons, timeline.

Read from the state database only (no API calls): offers, exclusions, leads and the
partner snapshot already hold everything the summary and the report show.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from jobs.ops.report import ActionItem, PartnerFigures, ReportData
from jobs.state import schema as t
from jobs.state.store import Store, snapshot_records
from jobs.timeutil import as_utc


def summary(store: Store) -> dict[str, int]:
    """The demo's and the report's headline counts."""
    with store.connect() as conn:
        lead_states = dict(conn.execute(select(t.leads.c.state, func.count()).group_by(t.leads.c.state)).all())
        offer_statuses = dict(conn.execute(select(t.offers.c.status, func.count()).group_by(t.offers.c.status)).all())
        offered_leads = conn.execute(select(func.count(func.distinct(t.offers.c.lead_id)))).scalar_one()
        offers = conn.execute(select(func.count()).select_from(t.offers)).scalar_one()
        redistributed = conn.execute(select(func.count()).select_from(t.offers).where(t.offers.c.attempt > 1)).scalar_one()
        escalations = conn.execute(
            select(func.count()).select_from(t.decisions).where(t.decisions.c.kind == "escalate")
        ).scalar_one()
    return {
        "leads": sum(lead_states.values()),
        "offered": offered_leads,
        "offers": offers,
        "accepted": offer_statuses.get("accepted", 0),
        "rejected": offer_statuses.get("rejected", 0),
        "lapsed": offer_statuses.get("lapsed", 0),
        "redistributed": redistributed,
        "escalated": max(escalations, lead_states.get("escalated", 0)),
        "unroutable": lead_states.get("unroutable", 0),
        "open_offers": offer_statuses.get("live", 0),
    }


def org_now(conn) -> datetime | None:
    """Salesforce's time as the state last recorded it: the end of the latest job run (or
    of a `state rebuild`, by the watermarks it saved), on the org's clock. A report is made
    offline, maybe on another host: this host's clock says nothing of the org's, nor does
    the skew the connector's host measured against it (added to this host's clock, it
    dated a report hours off). None before any run."""
    runs = conn.execute(select(func.max(t.job_runs.c.finished), func.max(t.job_runs.c.started))).one()
    saved = conn.execute(select(func.max(t.watermarks.c.updated_at))).scalar()
    known = [as_utc(v) for v in (*runs, saved) if v is not None]
    return max(known) if known else None


def report_data(store: Store, *, title: str = "leadrouter report", now: datetime | None = None,
                partner_names: dict[str, tuple[str, str | None]] | None = None,
                instance_url: str | None = None, mappings: Any = None) -> ReportData:
    """Everything `report.render` needs; `partner_names` maps id -> (name, tier), else they
    are read from the partner snapshot through `mappings` (the org's tier field, mapped);
    `instance_url` makes the action list's lead ids links into the org."""
    with store.connect() as conn:
        now = now or org_now(conn)
        names = partner_names if partner_names is not None else _partner_names(conn, mappings)
        offer_rows = conn.execute(
            select(t.offers.c.partner_id, t.offers.c.status, t.offers.c.offered_at, t.offers.c.accepted_at,
                   t.offers.c.closed_at)
        ).all()
        reasons = conn.execute(
            select(t.exclusions.c.reason, func.count()).where(t.exclusions.c.outcome == "rejected").group_by(t.exclusions.c.reason)
        ).all()
        escalated_at = [r[0] for r in conn.execute(select(t.decisions.c.at).where(t.decisions.c.kind == "escalate")).all()]
        actions = action_list(conn, instance_url)

    partners: dict[str, PartnerFigures] = {}
    hours_to_accept: list[float] = []
    events: dict[str, list[datetime]] = defaultdict(list)
    for partner_id, status, offered_at, accepted_at, closed_at in offer_rows:
        if status == "accepted" and accepted_at and offered_at:
            hours_to_accept.append((accepted_at - offered_at).total_seconds() / 3600)
        events["offered"].append(offered_at)
        if accepted_at:
            events["accepted"].append(accepted_at)
        if status == "lapsed" and closed_at:
            events["lapsed"].append(closed_at)
        if not partner_id:  # pool offers have no single partner until someone takes them
            continue
        name, tier = names.get(partner_id, (partner_id, None))
        fig = partners.setdefault(partner_id, PartnerFigures(partner_id, name, tier))
        fig.offered += 1
        if status == "accepted":
            fig.accepted += 1
            if accepted_at and offered_at:
                fig.hours_to_accept.append((accepted_at - offered_at).total_seconds() / 3600)
        elif status == "rejected":
            fig.rejected += 1
        elif status == "lapsed":
            fig.lapsed += 1
    events["escalated"] = escalated_at
    labels, timeline = _timeline(events)
    return ReportData(
        title=title,
        generated_at=now.strftime("%Y-%m-%d %H:%M UTC") if now else "-",
        totals=summary(store),
        partners=sorted(partners.values(), key=lambda p: p.partner_id),
        rejection_reasons=Counter({(reason or "(no reason given)"): n for reason, n in reasons}),
        timeline_labels=labels,
        timeline=timeline,
        actions=actions,
        hours_to_accept=hours_to_accept,
    )


def org_url(loaded) -> str | None:
    """Where the org's records open, from the config: a My Domain (or the sandbox) login
    URL is the org's own address; login/test.salesforce.com are not (no links then)."""
    url = ((loaded.settings.salesforce or {}).get("login_url") or "").rstrip("/")
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    return url if url and host not in ("login.salesforce.com", "test.salesforce.com") else None


def action_list(conn, instance_url: str | None) -> list[ActionItem]:
    """The leads a channel manager must act on: escalated, unroutable, lapsed twice or more."""
    lapses = dict(conn.execute(
        select(t.offers.c.lead_id, func.count()).where(t.offers.c.status == "lapsed")
        .group_by(t.offers.c.lead_id).having(func.count() >= 2)).all())
    stuck = conn.execute(
        select(t.leads.c.lead_id, t.leads.c.state, t.leads.c.reason, t.leads.c.record, t.leads.c.updated_at)
        .where(t.leads.c.state.in_(("escalated", "unroutable"))
               # lapsed twice and still without a partner who took it (accepted later: nothing to do)
               | (t.leads.c.lead_id.in_(list(lapses) or [""]) & t.leads.c.state.in_(("offered", "pooled", "fallback"))))
        .order_by(t.leads.c.updated_at.desc(), t.leads.c.lead_id)
    ).all()
    base = (instance_url or "").rstrip("/")
    out = []
    for lead_id, state, reason, record, updated_at in stuck:
        what = state if state in ("escalated", "unroutable") else "lapsed twice"
        if lead_id in lapses and what != "lapsed twice":
            what += f", lapsed {lapses[lead_id]}×"
        company = (record or {}).get("Company") if isinstance(record, dict) else None
        out.append(ActionItem(lead_id=lead_id, what=what, reason=reason or "", company=company or "",
                              since=updated_at.strftime("%Y-%m-%d %H:%M") if updated_at else "",
                              link=f"{base}/lightning/r/Lead/{lead_id}/view" if base else ""))
    return out


def _partner_names(conn, mappings: Any = None) -> dict[str, tuple[str, str | None]]:
    """id -> (name, tier) as routing reads them: an org whose tier is Partner_Level__c
    'Level 3' mapped to Gold is Gold here too (without mappings: the shipped fields)."""
    if mappings is None:
        from mappings import load_mappings

        mappings = load_mappings(None)
    convert = mappings.partner_converter()
    out = {}
    for record in snapshot_records(conn, "partner"):
        p = convert(record)
        tier = getattr(p, "tier", None)
        out[record.get("Id")] = (getattr(p, "name", None) or record.get("Name") or record.get("Id"), tier)
    return out


def _timeline(events: dict[str, list[datetime]], buckets: int = 24) -> tuple[list[str], dict[str, list[float]]]:
    stamps = [s for series in events.values() for s in series if s]
    if not stamps:
        return [], {}
    start, end = min(stamps), max(stamps)
    width = max((end - start) / buckets, timedelta(minutes=1))
    labels = [(start + width * i).strftime("%d %b %H:%M") for i in range(buckets)]
    out = {}
    for name in ("offered", "accepted", "lapsed", "escalated"):
        counts = [0.0] * buckets
        for s in events.get(name, []):
            counts[min(buckets - 1, int((s - start) / width))] += 1
        out[name] = counts
    return labels, out
