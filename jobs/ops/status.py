"""`leadrouter status` for a person: plain lines that fit 80 columns, words not dicts.

`--json` keeps the full report for machines. The leader is read from the leader lock
itself (who holds it now), not only from the instances table: `once` takes the lock
without registering as an instance, and a crashed leader's row lingers.
"""
from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from typing import Any

from jobs.timeutil import parse_sf_datetime

WIDTH = 80
LABEL = 11  # "Watermarks " — the widest label, so values line up


def leader(state_url: str, instances: list[dict[str, Any]]) -> dict[str, Any]:
    """Who holds the leader lock: {"held": bool, "instance": name|None, "how": text}."""
    from jobs.leader import PostgresLeaderLock, lock_for

    try:
        lock = lock_for(state_url)
    except ValueError as e:
        return {"held": False, "instance": None, "how": str(e)}
    if isinstance(lock, PostgresLeaderLock):
        held = _pg_lock_held(lock)
        lock._engine.dispose()
    else:
        # A file lock can only be asked by trying it; taken and let go at once if free
        # (no fencing token taken, no lock file created)
        held = lock.held_elsewhere()
    # the registered leader seen last (a crashed one's row lingers, but then the lock is free)
    named = sorted((i for i in instances if i.get("role") == "leader"), key=lambda i: _aware(i["seen_at"]))
    if held and named:
        who = named[-1]
        return {"held": True, "instance": who["instance"],
                "how": f"{who['instance']} (pid {who.get('pid')} on {who.get('host') or '?'}), "
                       f"last seen {when(who['seen_at'])}"}
    if held:
        return {"held": True, "instance": None,
                "how": "held by a process that is not a registered instance (a `once` run?)"}
    return {"held": False, "instance": None, "how": "nobody holds the lock: no connector is running"}


def link(budgets: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Salesforce's answering and the org lease, as the instance that ran a job last saw
    them (its api_budget row, newest first): `status` reads the state, never the org."""
    if not budgets:
        return {"unavailable_since": None, "failed_calls": 0, "instance": None, "as_of": None}, None
    b = budgets[0]
    salesforce = {"unavailable_since": b.get("salesforce_unavailable_since"), "failed_calls": b.get("failed_calls", 0),
                  "instance": b["instance"], "as_of": b["updated_at"]}
    lease = b.get("org_lease")
    return salesforce, ({**lease, "as_of": b["updated_at"]} if lease else None)


def _lease_text(lease: dict[str, Any]) -> str:
    if lease.get("unavailable"):
        return (f"not used: {lease['unavailable']} — two connectors with their own state databases would both "
                "route this org; deploy salesforce/ to use it")
    if lease.get("term") is not None:
        text = (f"term {lease['term']} held by {lease['holder']} (pid {lease.get('pid')} on {lease.get('host') or '?'})"
                f", renewed {when(parse_sf_datetime(lease.get('renewed_at')))}")
        if lease.get("renewals_unanswered"):
            text += "; renewals get no answer: nothing is written until one does"
        return text
    if lease.get("other"):
        return f"term {lease.get('other_term')} held by another connector: {lease['other']}; {lease['holder']} waits"
    return f"not held by {lease['holder']} (as of {when(lease.get('as_of'))})"


def _pg_lock_held(lock) -> bool:
    """Advisory locks are per database, and every org's key is the same in each one
    (`lock_key(org)`): only this database's lock counts."""
    from sqlalchemy import text

    try:
        with lock._engine.connect() as conn:
            n = conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND ((classid::bigint << 32) | objid::bigint) = :k"), {"k": lock.key}).scalar()
        return bool(n)
    except Exception:  # noqa: BLE001 — an unreachable database: we cannot say
        return False


def _aware(v: datetime) -> datetime:
    return v if v.tzinfo else v.replace(tzinfo=timezone.utc)


def when(v: datetime | None) -> str:
    return _aware(v).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if v else "-"


WORDS = {"live": "open", "expired": "lapsed", "snapshot": "partner data"}


def counts(d: dict[str, Any] | None, empty: str = "none") -> str:
    """{'confirmed': 11344, 'dropped': 212} → 'confirmed 11,344 · dropped 212'."""
    if not d:
        return empty
    return " · ".join(f"{WORDS.get(k, k).replace('_', ' ')} {v:,}" if isinstance(v, int) else
                      f"{WORDS.get(k, k).replace('_', ' ')} {v}" for k, v in d.items())


def line(label: str, text: str) -> list[str]:
    """`label` then `text` wrapped to WIDTH, continuation lines indented under the text."""
    return textwrap.wrap(text, WIDTH, initial_indent=f"{label:<{LABEL}}", subsequent_indent=" " * LABEL,
                         break_on_hyphens=False) or [label]


def api_usage(budgets: list[dict[str, Any]]) -> list[str]:
    """Two figures of another kind, each said as what it is: the whole org's daily API
    requests as Salesforce reports them (every app and user; one figure, the newest any
    instance saw), and this connector's own calls in the last 24 hours, in all and by
    instance (`local` for `once`, whose runs carry each other's on; host:pid:… for `run`).
    The share bounds the total (connector/budget.py)."""
    if not budgets:
        return []
    seen = [b for b in budgets if b.get("org_max")]  # newest first (store.api_budgets)
    if seen:
        b = seen[0]
        org = (f"the whole org (every app and user, as Salesforce reports it for the last 24 h): "
               f"{b.get('org_used') or 0:,} of {b['org_max']:,} requests at {when(b['updated_at'])}")
    else:
        org = "the whole org: not reported by Salesforce yet"
    out = line("API usage", org)
    ours, total = [], 0
    for b in budgets:
        hours = b.get("hours")
        # each instance's own calls by hour, earlier runs' included (connector/budget.py);
        # a row of an earlier release has only its process's count
        spent = sum(v for v in hours.values() if isinstance(v, int)) if isinstance(hours, dict) \
            else b.get("spent_24h") or 0
        total += spent
        text = f"{b['instance']} {spent:,} at {when(b['updated_at'])}"
        if b.get("holding_back"):
            text += ", holding back non-urgent jobs"
        ours.append(text)
    allowance = next((b.get("allowance_24h") for b in budgets if b.get("allowance_24h") is not None), None)
    head = f"this connector's own calls in the last 24 h: {total:,}"
    if allowance is not None:
        share = next(b.get("share", 0) for b in budgets if b.get("allowance_24h") is not None)
        head += f" of its {allowance:,} ({share:.0%} of the org's limit)"
    out += line("", head + "; by instance (each `run` process; `local`: every `once`): " + "; ".join(ours))
    return out


def _schema_note(version: Any) -> str:
    """An earlier release's state, said with what the next start does to it."""
    from jobs.state.schema import SCHEMA_VERSION

    if not isinstance(version, int) or version == SCHEMA_VERSION:
        return ""
    if version < SCHEMA_VERSION:
        return (f", written by an earlier leadrouter: this version's first `once` or `run` migrates it to "
                f"v{SCHEMA_VERSION}, after which earlier versions refuse it (docs/DEPLOY.md, Upgrading)")
    return f", written by a newer leadrouter than this one (v{SCHEMA_VERSION}): run that version"


def _activity_tasks(waiting: dict[str, Any] | None) -> list[str]:
    """The activity Tasks Salesforce could not take yet (jobs/activity.py): said only when
    some wait, as the outbox's backlog is, with the last error, which says why."""
    if not waiting or not waiting.get("waiting"):
        return []
    n = waiting["waiting"]
    text = (f"{n:,} activity Task{'' if n == 1 else 's'} ({counts(waiting.get('by_kind'))}) waiting to be written "
            f"again; oldest {when(waiting.get('oldest'))} (lead {waiting.get('oldest_lead')}); next try "
            f"{when(waiting.get('next_try'))}")
    if waiting.get("last_error"):
        text += f"; last error {waiting['last_error'][:200]} ({when(waiting.get('last_error_at'))})"
    return line("Tasks", text + "; the outbox job writes them, once each, when Salesforce takes them")


def render(r: dict[str, Any]) -> str:
    out = ["leadrouter status", ""]
    org = r.get("org") or {}
    if org:
        recorded = org.get("recorded")
        text = org.get("configured") or "-"
        if recorded and recorded != org.get("configured"):
            text += f" (the state was first opened for org {recorded!r})"
        text += f"; Organization Id {org['organization_id']}" if org.get("organization_id") else \
            "; Organization Id not recorded yet (the first connection records it)"
        out += line("Org", text)
    out += line("State", f"{r['state']} (schema v{r['schema_version']}{_schema_note(r.get('schema_version'))})")
    lead = r.get("leader") or {}
    out += line("Leader", lead.get("how", "-"))
    if r.get("instances"):
        out += line("Instances", "; ".join(f"{i['instance']} {i['role']} (seen {when(i['seen_at'])})"
                                            for i in r["instances"]))
    if r.get("org_lease"):
        text = _lease_text(r["org_lease"])
        if lead and not lead.get("held"):  # as the last run saw it: that run has ended
            text = f"as the last run saw it ({when(r['org_lease'].get('as_of'))}): {text}; no connector of this " \
                   "state runs now (a clean stop releases the lease)"
        out += line("Org lease", text)
    down = r.get("salesforce") or {}
    if down.get("unavailable_since"):
        out += line("Salesforce", f"unavailable since {when(parse_sf_datetime(down['unavailable_since']))}: "
                                  f"{down.get('failed_calls', 0):,} call(s) gave up after their retries (seen by "
                                  f"{down['instance']} at {when(down['as_of'])}); the jobs try again every poll "
                                  "interval and nothing is lost meanwhile")
    out.append("")
    out.append("Jobs, last run (UTC)")
    for j in r.get("jobs") or ():
        secs = (j["finished"] - j["started"]).total_seconds() if j.get("finished") else None
        took = f"{secs:.1f} s" if secs is not None else "running"
        head = f"  {j['job']:<15} {_aware(j['started']).astimezone(timezone.utc):%m-%d %H:%M}  {took:>8}  " \
               f"{j['api_calls']:>5} API call{'' if j['api_calls'] == 1 else 's'}"
        out.append(head[:WIDTH])
        detail = counts({k: v for k, v in (j.get("counts") or {}).items() if v}, "nothing to do")
        out += textwrap.wrap(detail, WIDTH, initial_indent="    ", subsequent_indent="    ")
        if j.get("error"):
            out += textwrap.wrap(f"error: {j['error']}", WIDTH, initial_indent="    ! ", subsequent_indent="      ")
    out.append("")
    out += line("Offers", counts(r.get("offers")))
    out += line("", f"next deadline {when(r.get('next_deadline'))}")
    oldest = r.get("oldest_open_offer")
    if oldest:
        out += line("", f"oldest open offer: lead {oldest['lead_id']}, offered {when(oldest['offered_at'])}, "
                        f"deadline {when(oldest.get('deadline'))}")
    out += line("Leads", counts(r.get("leads")))
    out += line("Outbox", counts(r.get("outbox"), "empty") + f"; oldest open {when(r.get('oldest_open_outbox'))}")
    out += _activity_tasks(r.get("activity_tasks"))
    held = r.get("held_escalations") or {}
    if held.get("leads"):
        n = held["leads"]
        out += line("Escalation", f"{n:,} lead{'' if n == 1 else 's'} held since {when(held.get('since'))} "
                                  f"(first {', '.join(held.get('first') or ())}): {held['problem']}; fix: {held['fix']}")
    for q in r.get("queues_missing") or ():  # the org lacks a queue the rules file names
        out += line("Queues", f"{q['queue']} not in the org ({q['where']}): {q['problem']}; fix: {q['fix']}")
    for x in r.get("refusals") or ():  # a lead nothing could be written to: a person must see it
        out += line("Refused", f"lead {x['lead_id']} ({when(x.get('at'))}): {x['error']}")
    out += api_usage(r.get("api_budget") or [])
    out += line("Partners", counts(r.get("snapshot"), "not read yet"))
    fb = r.get("feedback")
    if fb:
        if fb.get("count") is None:
            out += line("Feedback", f"not read: {fb.get('error')}")
        else:
            listed = ([f"{t['partner']} capacity {t['capacity']} of {t['declared']}" for t in fb["throttled"]]
                      + [f"{e['partner']} no {e['industry']}" for e in fb["excluded"]]
                      + [f"{e['partner']} no {e['product']}" for e in fb.get("excluded_products", ())]
                      + [f"{a['partner']} no {a['area']}" for a in fb["stopped"]])
            out += line("Feedback", f"{fb['count']} adjustment(s) in force" + (
                ": " + "; ".join(listed[:6]) + (" …" if len(listed) > 6 else "") if listed else "")
                + (f"; {len(fb['out_of_territory'])} coverage fix(es) to review" if fb["out_of_territory"] else "")
                + ("; `leadrouter feedback` for all" if listed or fb["out_of_territory"] else ""))
    rebuilt = r.get("rebuilt")
    if rebuilt:
        text = f"from the org at {when(parse_sf_datetime(rebuilt.get('at')))}: " + counts(rebuilt.get("counts"), "nothing")
        for why in (rebuilt.get("not_rebuilt") or {}).values():
            text += f"; could not rebuild: {why}"
        out += line("Rebuilt", text)
    for b in r.get("bulk_jobs") or ():
        out += line("Bulk job", f"{b['job_id'] or 'not created yet'} ({b['sobject']}, {b['entries']:,} leads): "
                                f"{b['state']} since {when(b['created_at'])}" + (f"; {b['note']}" if b.get("note") else "")
                    + "; the next run settles it")
    marks = r.get("watermarks") or {}
    if marks:
        out += line("Watermarks", "; ".join(f"{k} {when(v)}" for k, v in sorted(marks.items())))
    for st in r.get("stream") or ():
        since = f"connected since {when(st['connected_since'])}" if st.get("connected_since") else "not connected"
        lag = f"{st['lag_s']:.1f} s" if st.get("lag_s") is not None else "-"
        text = (f"{st['topic']}: {st['mode']}, {since}; last replay id {st['replay_id'] or '-'}; lag {lag}; "
                f"{st['events_per_min'] or 0:.0f} events/min ({st['events']} in all); "
                f"reconciliation finds {st['reconcile_finds']}" + (f"; {st['note']}" if st.get("note") else ""))
        out += line("Stream", text)
    return "\n".join(out)
