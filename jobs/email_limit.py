"""Past the org's email limit: once the org's daily single-email allowance is spent,
emailSimple refuses each email with SINGLE_EMAIL_LIMIT_EXCEEDED until midnight GMT. What it
refused goes by the bell (customNotificationAction) instead, where the connector has a
Custom Notification Type to send with. Shared by the offer alert (jobs/alerts.py) and the
reminder (jobs/remind.py).

A refused email went to nobody, so the bell tells each of its recipients once; a message
must go to one rep alone for that to hold (a rep of a shared message whose email went would
be told twice). The caller writes each such lead's Task whatever its Task setting says:
nothing else tells an admin that a rep was never emailed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from connector.notify import NotifyResult
from jobs import activity

EMAIL_LIMIT = "SINGLE_EMAIL_LIMIT_EXCEEDED"


def by_bell_instead(cx, kind: str, results: list[NotifyResult], *, log: Any, event: str, noun: str,
                    target_of: Callable[[int], str | None] = lambda j: None,
                    **fields: Any) -> tuple[list[NotifyResult], dict[int, NotifyResult]]:
    """The messages emailSimple refused for the org's email limit, sent by the bell instead
    where the connector can. Returns the results (those sent again replaced by the bell's)
    and {message index: the email's refusal}. `event`: the run's log events are
    `{event}_email_limit` (always, once) and `{event}_not_sent` (the bell's call refused);
    `target_of(j)`: the record message j's bell opens when it names none (one is needed)."""
    limited = {j: r for j, r in enumerate(results) if kind == "email" and not r.ok and r.code == EMAIL_LIMIT}
    if not limited:
        return results, {}
    notify = getattr(getattr(cx.client, "config", None), "notify", None)
    results = list(results)
    by_bell = 0
    if getattr(notify, "custom_notification_type_id", None):
        again = [replace(results[j].notification, target_id=results[j].notification.target_id or target_of(j))
                 for j in limited]
        for j, r in zip(limited, activity.send(cx, "custom", again, log=log, event=f"{event}_not_sent", **fields)):
            results[j] = r
            by_bell += r.ok
    first = next(iter(limited.values()))
    log.warning(f"{event}_email_limit", refused=len(limited), sent_by_notification=by_bell,
                not_sent=len(limited) - by_bell, code=EMAIL_LIMIT, message=(first.message or "")[:300],
                note=f"each lead's Task says its {noun} was not emailed", fix=first.fix or "")
    return results, limited
