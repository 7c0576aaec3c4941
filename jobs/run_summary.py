"""What one `leadrouter once` did, for the person who ran it: a few lines on stdout (or one
JSON object with `--json`), the log staying on stderr.

Made from the jobs' own counts (the `job_run` log lines and the state's job runs hold the
same), summed over the cycle: the lead stream's outcomes, a lapse's refresh (`read_…`) and a
follow-up's refresh alike. A count the groups below do not name is in `jobs[].counts`.
"""
from __future__ import annotations

from typing import Any, Mapping

# how a lead was placed, by the decision's kind (rules.model.DecisionKind)
PLACED = (("offer", "offered"), ("pool", "pooled"), ("escalate", "escalated"), ("fallback", "to a fallback queue"),
          ("unroutable", "unroutable"))
# outcome prefixes of a lead read again that was decided anew (jobs/poll.py, jobs/outbox.py)
_AGAIN = ("rerouted_", "rejected_then_", "handed_back_then_", "decided_again_", "accepted_then_hand_down_")


def _outcomes(results: Mapping[str, Any]) -> dict[str, int]:
    """Every job's counts summed by key; a refresh's `read_<outcome>` counted as the outcome."""
    total: dict[str, int] = {}
    for r in results.values():
        for key, n in (r.counts or {}).items():
            if not isinstance(n, int):
                continue
            if key.startswith("read_") and key != "read_window":
                key = key[len("read_"):]
            total[key] = total.get(key, 0) + n
    return total


def summary(results: Mapping[str, Any]) -> dict[str, Any]:
    """The run's figures: leads read and how they were placed, answers, lapses, reminders,
    writes, errors and API calls; `jobs` each job's own."""
    c = _outcomes(results)
    leads = results.get("leads")
    read = (leads.counts.get("read", 0) + leads.counts.get("bulk_read", 0)) if leads is not None else 0
    echoes = leads.counts.get("own_writes_read", 0) if leads is not None else 0
    routed = {kind: c.get(f"routed_{kind}", 0) for kind, _ in PLACED}
    routed["unroutable"] += c.get("unroutable", 0)  # the mapping could not read the lead
    again = {kind: sum(c.get(f"{p}{kind}", 0) for p in _AGAIN) for kind, _ in PLACED}
    answers = {
        "accepted": c.get("accepted", 0) + c.get("accepted_from_pool", 0)
        + sum(v for k, v in c.items() if k.startswith("accepted_then_hand_down_")),
        "rejected": sum(v for k, v in c.items() if k.startswith(("rejected_then_", "handed_back_then_")))
        + c.get("declined_in_pool", 0),
        "taken_over": sum(v for k, v in c.items() if k.startswith("released_")),
    }
    lapsed = {"moved_on": c.get("redistributed", 0), "escalated": c.get("escalated", 0)}
    reminders = {"sent": c.get("notified", 0), "failed": c.get("failed", 0),
                 "followups": c.get("followup_reminded", 0)}
    errors = [{"job": name, "error": r.error} for name, r in results.items() if r.error]
    return {
        "jobs_run": len(results),
        "leads_read": read,  # every lead the stream read, our own writes read back included
        "own_writes_read": echoes,  # added after leads_read: its meaning, and the key, stay
        "routed": routed,
        "left_alone": sum(v for k, v in c.items() if k.startswith("skipped_")),
        "moved_on": again,
        "answers": answers,
        "lapsed": lapsed,
        "reminders": reminders,
        "writes_confirmed": c.get("flush_confirmed", 0) + c.get("confirmed", 0),
        "writes_refused": c.get("flush_refused", 0) + c.get("refused", 0),
        "api_calls": sum(r.api_calls for r in results.values()),
        "seconds": round(sum(r.seconds for r in results.values()), 1),
        "errors": errors,
        "jobs": [{"job": name.split("#")[0], "run_id": r.run_id, "counts": r.counts, "api_calls": r.api_calls,
                  "seconds": r.seconds, "error": r.error} for name, r in results.items()],
    }


def text(s: Mapping[str, Any]) -> str:
    """The summary as a person reads it: one line per kind of work."""
    def placed(counts: Mapping[str, int]) -> str:
        return ", ".join(f"{counts[k]} {words}" for k, words in PLACED if counts.get(k)) or "none"

    routed, again, answers, lapsed, rem = s["routed"], s["moved_on"], s["answers"], s["lapsed"], s["reminders"]
    failed = s["errors"]
    lines = [
        f"leadrouter once: {s['jobs_run']} job runs in {s['seconds']:g} s, {s['api_calls']} API calls",
        f"  leads read        {s['leads_read']}"
        # our writes come back through the stream: said apart, they are not the org's activity
        + (f" ({s['own_writes_read']} of them our own writes read back)" if s.get("own_writes_read") else ""),
        f"  new leads routed  {sum(routed.values())}: {placed(routed)}"
        + (f"; {s['left_alone']} left alone" if s["left_alone"] else ""),
        f"  answers read      {sum(answers.values())}: {answers['accepted']} accepted, {answers['rejected']} "
        f"rejected, {answers['taken_over']} taken over by a person",
        f"  moved on          {sum(again.values())}: {placed(again)}",
        f"  offers lapsed     {lapsed['moved_on'] + lapsed['escalated']}: {lapsed['moved_on']} to the next, "
        f"{lapsed['escalated']} escalated",
        f"  reminders         {rem['sent']} sent, {rem['failed']} not sent; {rem['followups']} follow-ups",
        f"  writes            {s['writes_confirmed']} confirmed by Salesforce"
        + (f", {s['writes_refused']} refused" if s["writes_refused"] else ""),
        "  errors            " + ("none" if not failed else f"{len(failed)} job(s) failed (the log says why):"),
    ]
    lines += [f"    {e['job']}: {e['error'].splitlines()[0][:200] if e['error'] else ''}" for e in failed]
    return "\n".join(lines)
