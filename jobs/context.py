"""What every job is given: the typed seam between the jobs and the application.

The jobs take `cx: Context`; `jobs.app.LeadRouter` is the one object that satisfies it.
A Protocol rather than the class itself, so the job modules depend on this small
description and the application on them — not both ways round.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol


class Context(Protocol):
    client: Any  # connector.client.SalesforceClient
    mappings: Any  # mappings.MappingSet
    book: Any  # rules.RuleBook
    store: Any  # jobs.state.Store
    clock: Any  # jobs.timeutil.Clock: Salesforce's time in production
    settings: Any  # jobs.config.Settings
    instance: str
    stop: threading.Event
    lookback: timedelta
    lock: Any  # the leader lock a command holds, or None: write batches are fenced by its token
    defer_in_flight: bool  # `run`: hold a batch still on the wire for a later outbox run instead of waiting
    alert_facts: dict[str, dict[str, Any]]  # what an offer alert says of a lead, kept from its conversion
    unknown_routed: list[str]  # leads new to this state, already offered or accepted

    def routing(self) -> Any: ...  # jobs.partners.Routing, rebuilt when the partner snapshot changes

    def snapshot_changed(self) -> None: ...

    def minimiser(self) -> Callable[[dict[str, Any]], dict[str, Any]]: ...

    def log(self, **bound: Any) -> Any: ...

    def refresh_leads(self, lead_ids: list[str], now: datetime, counts: dict[str, int]) -> None: ...
