"""What the read-only ops tools (validate, dry-run, explain) share: config, org, routing.

They never write to Salesforce nor to the live state database. The partner snapshot
they route with is fetched into a private, throw-away state file by the same
`sync_partners` job production runs, so what they show is what production would do;
fairness counters (rotation, load) are read from the live state database when one
exists, so a dry-run continues the rotation instead of starting it afresh.
"""
from __future__ import annotations

import tempfile
from datetime import timedelta
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.config import LoadedConfig


@dataclass
class OpsContext:
    loaded: LoadedConfig
    connector: Any  # jobs.app.Connector on a private store
    live_state: Any | None  # rules.state.RoutingState from the live database, or None
    live_store: Any | None
    _tmp: tempfile.TemporaryDirectory

    def state_for(self, lead_ids: Any, *, rerouted: bool = True) -> Any:
        """A copy of the live routing state holding what `once` loads of these leads before it
        decides them again: the partners and pools each declined or let lapse, and — for leads a
        person set Pending (`rerouted`: jobs/lifecycle.reroute) — the partner holding it, all
        passed over. Without them a preview of a lead set Pending offered it to the very partner
        that had let it lapse."""
        import copy

        from jobs.lifecycle import HELD
        from jobs.state import offers as of
        from rules.state import RoutingState

        state = copy.deepcopy(self.live_state) if self.live_state is not None else RoutingState()
        ids = [i for i in dict.fromkeys(lead_ids) if i]
        if self.live_store is None or not ids:
            return state
        with self.live_store.connect() as conn:
            excluded, holders, _ = of.lead_facts(conn, ids)
        for lead_id, partner_id in holders.items() if rerouted else ():
            excluded.setdefault(lead_id, {}).setdefault(partner_id, HELD)
        state.excluded = {**state.excluded, **excluded}
        return state

    def close(self) -> None:
        self.connector.store.dispose()
        if self.live_store is not None:
            self.live_store.dispose()
        self._tmp.cleanup()

    def __enter__(self) -> "OpsContext":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_live_store(loaded: LoadedConfig):
    """The live state database, only if it already exists (never create one here)."""
    from jobs.state import Store

    from jobs.state.store import behind

    url = loaded.state_url()
    if url.startswith("sqlite:///"):
        if not Path(url[len("sqlite:///"):]).exists():
            return None
    if behind(url) is not None:  # an earlier release's: migrated by this one's first start, not by a look
        return None
    try:
        return Store(url)
    except Exception:  # noqa: BLE001 — an unreachable database only costs the live counters
        return None


def why_no_live_store(loaded: LoadedConfig) -> str:
    """Why `open_live_store` gave nothing: no state yet, or a database that cannot be reached
    or used — two different things to do about it."""
    from jobs.state import Store
    from jobs.state.store import behind, describe_problem

    url = loaded.state_url()
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return (f"no state database at {url[len('sqlite:///'):]} yet\n  fix: check [state] url; the first "
                "`leadrouter once --init` (or run) creates it")
    version = behind(url)
    if version is not None:
        return earlier_state(url, version)
    try:
        Store(url).dispose()
    except Exception as e:  # noqa: BLE001 — said, not raised: the caller stops with this message
        return describe_problem(e, url)
    return "the state database could be opened only on a second try: run the command again"


def earlier_state(url: str, version: int) -> str:
    """What to say of a state an earlier leadrouter wrote, which a look leaves as it is."""
    from jobs.state.orgs import location
    from jobs.state.schema import SCHEMA_VERSION

    return (f"the state database {location(url)} is at schema version {version}, written by an earlier leadrouter; "
            f"this one (schema version {SCHEMA_VERSION}) left it as it is, so the earlier one can still run on it\n"
            "  fix: the first `leadrouter once` (or `run`) of this version migrates it in place, after which earlier "
            "versions refuse it: deploy this version's salesforce/ package first, back the state up, then start "
            "it (docs/DEPLOY.md, Upgrading)")


def open_context(loaded: LoadedConfig, *, rules: Path | None = None, client: Any = None, clock: Any = None) -> OpsContext:
    from jobs.app import Connector
    from jobs.lifecycle import load_state
    from jobs.state import Store
    from jobs.state import incumbents as incumbent_rows

    tmp = tempfile.TemporaryDirectory(prefix="leadrouter-ops-")
    private = Store(f"sqlite:///{Path(tmp.name) / 'ops.sqlite'}")
    live = open_live_store(loaded)
    # no clock: Salesforce's. A queue the org lacks, named by rules that passed the full check
    # before (the live state remembers it), went from the org: the preview routes past it as
    # a start does, with the same warning; rules that never passed are refused, naming the
    # queue meant, as validate does: a preview is where ops fix the rules file
    try:
        cx = Connector.from_config(loaded, client=client, store=private, clock=clock, missing_queues="preview",
                                   passes=live)
    except BaseException:
        private.dispose()
        if live is not None:
            live.dispose()
        tmp.cleanup()
        raise
    if rules is not None:
        # the org's custom fiscal periods, read at the connector's start, hold for any rule file
        cx.book = load_book(rules, cx.mappings).with_fiscal_periods(cx.book.settings.fiscal_periods)
    cx.instance = "ops"
    # offers, answers and reviews come from the live state: the learner, the performance
    # facts and partners' feedback route here as they do in production
    cx.history_store = live
    # SOQL datetimes carry no fraction of a second, so a read bounded by "now" misses the
    # records changed in the current second; a one-shot read looks one second ahead.
    result = cx.run_job("sync_partners", cx.clock.now() + timedelta(seconds=1))
    if result.error:
        private.dispose()
        if live is not None:
            live.dispose()
        tmp.cleanup()
        raise RuntimeError(f"could not read partners from the org: {result.error}")
    state = None
    if live is not None:
        with live.connect() as conn:
            state = load_state(conn)
            # a one-off previews any lead: every incumbent, read once (jobs read a page's)
            state.take_incumbents(incumbent_rows.read_all(conn))
    return OpsContext(loaded, cx, state, live, tmp)


def load_book(path: Path, mappings: Any):
    from jobs.performance import rule_attributes
    from rules import load_rules

    lead_attributes, partner_attributes = rule_attributes(mappings)
    return load_rules(path, lead_attributes=lead_attributes, partner_attributes=partner_attributes)


def unrouted_leads_soql(cx, limit: int | None = None) -> str:
    """Leads the route job would pick up: not yet routed (status empty or Pending)."""
    from connector.soql import format_soql, ident, select

    ms = cx.mappings
    field = ms.writeback_fields().get("routing_status", "Routing_Status__c")
    # Pending in the org's own word where writeback.toml maps it (once reads it back mapped)
    pending = ms.writeback({"routing_status": "Pending"}).get(field, "Pending")
    status = ident(field)
    where = format_soql(f"({status} = null OR {status} = {{}}) AND IsConverted = false", pending)
    extra = ms.filter("lead")
    if extra:
        where = f"({extra}) AND {where}"
    # in the order the lead stream reads them (connector/reads.py): a rotation's turns, the
    # caps and `--limit` then fall on the leads `once` gives them to, not on the oldest
    from jobs.route import reason_read

    fields = ms.soql_fields("lead")
    reason = reason_read(ms)  # as `once` reads leads: not_ours decides on the same fields
    if reason and reason not in fields:
        fields = [*fields, reason]
    return select(ms.sobject("lead"), fields, where=where, order_by=("SystemModstamp", "Id"), limit=limit)
