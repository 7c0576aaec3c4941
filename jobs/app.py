"""The assembled application: one object holding client + mappings + rule book + state.

`LeadRouter.from_config(loaded)` builds it from the TOML config; tests, the ops tools
and the demo build it with `LeadRouter(...)` around a sandbox client. (It was called
`Connector`, which is the name of the Salesforce I/O package; the old name stays as
an alias.) Every job function takes it as `cx: Context`, the protocol in
jobs/context.py. `run_job(name)` runs one job with its accounting (a `job_runs` row
and one summary log line); `run_cycle()` runs every job once in the order a cycle needs.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

import structlog

from jobs.config import ConfigFileError, LoadedConfig, SalesforceUnreachable, Settings
from jobs.logging import get_logger
from jobs.repeats import Repeats
from jobs.state import Store
from jobs.state import store as st
from jobs.timeutil import Clock, SalesforceTime, SystemClock

if TYPE_CHECKING:
    from jobs.partners import Routing

# Job name -> module with `run(cx, now) -> dict[str, int]`. The cycle order matters:
# confirm old writes first, refresh partners, read the lead stream (new leads and
# responses), notice deletions, then act on time (deadlines, reminders, follow-ups),
# and finally push what was decided.
CYCLE = ("outbox", "sync_partners", "leads", "deleted", "expire", "remind", "followup", "outbox", "housekeeping")
# Jobs that can wait a few hours when the org's API allowance runs low; the lead
# stream, deadlines and the outbox keep going (leads must not sit unanswered).
NON_URGENT = ("sync_partners", "followup", "deleted")  # housekeeping makes no API call
CLOCK_SKEW_WARN_SECONDS = 60.0
JOBS = ("outbox", "sync_partners", "leads", "deleted", "expire", "remind", "followup", "housekeeping")


def _carry_budget(client: Any, store: Store) -> None:
    """`[budget] share` bounds the connector's last 24 hours, not this process's: a cron
    `once` is a new process every run, so the calls earlier processes kept in the state
    count from the start's first check on (a lost state forgets them; the org's own limit
    still stands)."""
    budget = getattr(client, "budget", None)
    if not callable(getattr(budget, "carry", None)):
        return
    with store.connect() as conn:
        rows = st.api_budgets(conn)
    budget.carry({b["instance"]: b["hours"] for b in rows if isinstance(b.get("hours"), dict)})


def _learnt_offset(cfg: Any, loaded: LoadedConfig) -> Any:
    """Salesforce's clock offset as an earlier run kept it in the state, for this process's
    first JWT assertion: a cron `once` is a new process every minute, and on a host minutes
    behind Salesforce each first assertion stamped with the host's clock was refused, two
    token requests a run. Other logins stamp nothing with a clock: the state is not read."""
    if cfg.auth.method != "jwt_bearer":
        return None
    from connector.servertime import LearntOffset
    from jobs.state.store import learnt_clock_offset

    kept = learnt_clock_offset(loaded.state_url())
    return LearntOffset(timedelta(seconds=kept[0]), kept[1]) if kept else None


def _job_module(name: str):
    """The job modules by name (each `run(cx: Context, now)`); they import the seam in
    jobs/context.py, never this module."""
    import importlib

    if name not in JOBS:
        raise KeyError(f"no job named {name!r}; the jobs are {', '.join(JOBS)}")
    return importlib.import_module(f"jobs.{name}")


def _secret_files(cfg: Any, loaded: LoadedConfig) -> dict[str, str]:
    """The auth's `*_file` references, each checked readable before any login attempt."""
    files = {}
    for key, value in cfg.auth.model_dump().items():
        if key.endswith("_file") and value:
            path = str(value)
            files[key] = path
            try:
                with open(path, "rb"):
                    pass
            except OSError as e:
                raise ConfigFileError(
                    f"{loaded.path or 'config'}: [salesforce.auth] {key}: cannot read {path} ({e.strerror}); "
                    "check the path (relative paths start at the config file's folder) and its permissions"
                ) from None
    return files


def _explained(e: Exception) -> bool:
    from connector.errors import ConnectorError
    from jobs.leader import NotLeader
    from jobs.partners import NoPartnersYet
    from mappings import MappingError
    from rules.errors import RulesError

    # NoPartnersYet: routing waits for a partner sync whose own job_failed line says why;
    # NotLeader: the lock was lost mid-job (its fence stopped the write), said as leader_lock_lost
    if isinstance(e, (ConnectorError, MappingError, RulesError, ConfigFileError, NoPartnersYet, NotLeader)):
        return True
    # the state database's server went away or is restarting: an outage, said in one line
    # (the job runs again); a traceback is for our bugs, not for a dropped connection
    from sqlalchemy import exc as sa

    return isinstance(e, (sa.OperationalError, sa.InterfaceError)) and "sqlite" not in type(getattr(e, "orig", e)).__module__


def _sqlite_error(e: Exception) -> bool:
    from sqlalchemy import exc as sa

    return isinstance(e, sa.OperationalError) and "sqlite" in type(getattr(e, "orig", e)).__module__


def _outage_said(client: Any, e: Exception) -> bool:
    from connector.errors import TransientError

    policy = getattr(client, "policy", None)
    return isinstance(e, TransientError) and bool(getattr(policy, "unavailable", False))


@dataclass
class JobResult:
    job: str
    run_id: str
    counts: dict[str, int]
    api_calls: int
    seconds: float
    error: str | None = None


@dataclass
class LeadRouter:
    client: Any  # connector.client.SalesforceClient
    mappings: Any  # mappings.MappingSet
    book: Any  # rules.RuleBook
    store: Store
    clock: Clock = field(default_factory=SystemClock)
    settings: Settings = field(default_factory=Settings)
    instance: str = "local"
    stop: threading.Event = field(default_factory=threading.Event)
    lookback: timedelta = timedelta(minutes=5)
    _routing: Routing | None = None
    # the predictive rules' learner (jobs/learning.py): kept across routing builds, so a
    # partner sync does not reset the fairness floor's counts
    learning: Any = None
    _snapshot_generation: int = 0
    _skew_warned: float = float("-inf")
    _minimiser: Any = None
    _state_checked: bool = False
    # how far this state knew the org when this process (or this leadership term) began:
    # the end of its latest job run then, and the time the term began (jobs/recovery.py caught_up)
    _known_until: datetime | None = None
    _term_started: datetime | None = None
    _budget_carried: bool = False
    lock: Any = None  # the leader lock, when a command holds one: write batches are fenced by its token
    # `run`: a batch a dead leader may still have on the wire is read back by a later outbox
    # run (the rest goes on); `once` waits for it (jobs/in_flight.py)
    defer_in_flight: bool = False
    # what an offer alert says about a lead, kept from the lead stream's conversion (jobs/alerts.py)
    alert_facts: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # new to this state, already offered or accepted: checked against LeadHistory at the
    # end of the lead stream's run (jobs/leads.py unknown_routed)
    unknown_routed: list[str] = field(default_factory=list, repr=False)
    # failures every run meets alike (credentials rotated, a field gone): said once (jobs/repeats.py)
    repeats: Repeats = field(default_factory=Repeats, repr=False)

    # ------------------------------------------------------------------ assembly
    @classmethod
    def from_config(cls, loaded: LoadedConfig, *, clock: Clock | None = None, client: Any = None,
                    store: Store | None = None, preflight: bool = True,
                    missing_queues: str = "warn", passes: Store | None = None) -> "LeadRouter":
        """Log in, load mappings and rules, and (unless told not to) check both against
        the org before anything runs: a broken set-up stops here, with file and line.
        `missing_queues`: "warn" (a start: a queue the rules file names that the org lacks is
        said with the fix, and routed past as a running connector does), "refuse" (as validate:
        an error naming the queue meant) or "preview" (ops previews, on a store of their own:
        as a start when these rules passed the full check in `passes`, the live state's store;
        else refused)."""
        from connector.client import SalesforceClient
        from connector.errors import ConfigError, ConnectorError, TransientError
        from jobs import preflight as pf
        from mappings import load_mappings
        from rules import load_rules

        s = loaded.settings
        ms = load_mappings(loaded.resolve(s.mappings.dir))
        rules_path = loaded.resolve(s.routing.rules)
        if client is None:
            cfg = loaded.connector_config()
            refs = _secret_files(cfg, loaded)
            try:
                # No clock given: the client runs on Salesforce's own (the Date header of
                # every response), and so does everything the jobs date.
                client = SalesforceClient.connect(cfg, clock=clock.now if clock else None,
                                                  logger=get_logger(component="connector"),
                                                  learnt_offset=None if clock else _learnt_offset(cfg, loaded))
            except ConfigError as e:
                named = "; ".join(f"[salesforce.auth] {k} = {v}" for k, v in refs.items())
                raise ConfigFileError(f"{loaded.path or 'config'}: {e}" + (f" (configured: {named})" if named else "")) \
                    from None
            except ConnectorError as e:
                kind = SalesforceUnreachable if isinstance(e, TransientError) else ConfigFileError
                raise kind(
                    f"{loaded.path or 'config'}: cannot log in at {cfg.login_url} ([salesforce] login_url): {e}; "
                    "check the URL, the network path to it and ca_bundle") from None
        if clock is None:
            clock = SalesforceTime(client) if callable(getattr(client, "server_now", None)) else SystemClock()
        if store is None:  # refused (exit 4) when it is another org's state: jobs/state/orgs.py
            from jobs.state.orgs import organization_id
            from jobs.state.store import behind

            earlier = behind(loaded.state_url())
            if preflight and earlier is not None:
                # an upgrade: the org is checked before the state is migrated past the earlier
                # release, so a start refused (the package not deployed yet) leaves it usable by that one
                pf.check_mappings(client, ms)
                from jobs.performance import rule_attributes

                lead_attributes, partner_attributes = rule_attributes(ms)
                load_rules(rules_path, lead_attributes=lead_attributes, partner_attributes=partner_attributes,
                           queue_names=None if missing_queues == "warn" else pf.queue_names(client))
            store = Store(loaded.state_url(), org=s.org.name, organization_id=organization_id(client), now=clock.now)
            if earlier is not None:
                get_logger(component="state").info(
                    "state_migrated", org=store.org, from_version=earlier, to_version=store.version,
                    note="the state an earlier leadrouter wrote is migrated in place: earlier versions refuse it now "
                         "(docs/DEPLOY.md, Upgrading)")
            _carry_budget(client, store)
        # the API version is part of what passed: an org serves a range of versions
        org = (f"{client.instance_url or ''}|{s.salesforce and s.salesforce.get('login_url')}"
               f"|{getattr(getattr(client, 'config', None), 'api_version', '')}")
        key = pf.fingerprint(ms, rules_path, org)
        checked = preflight and not pf.recently_passed(store, key, clock.now())
        org_queues = pf.queue_names(client) if checked else None
        from jobs.performance import rule_attributes

        # the lead score and partner performance facts are usable in conditions too
        lead_attributes, partner_attributes = rule_attributes(ms)
        # A queue the org lacks, named by rules that passed this check before, went from the org:
        # it does not stop a start, which routes past it as the connector does when one goes
        # while it runs (jobs/partners.py), said here with the fix and by `leadrouter validate`
        # as an error. Rules that never passed (a first start, a rules file just edited) naming
        # one are refused as a mistake in them, before anything is written; so do ops tools.
        route_past = ((missing_queues == "warn" and (org_queues is None or pf.ever_passed(store, key)))
                      or (missing_queues == "preview" and passes is not None and pf.ever_passed(passes, key)))
        book = load_rules(rules_path, lead_attributes=lead_attributes, partner_attributes=partner_attributes,
                          queue_names=None if route_past else org_queues)
        if org_queues is not None and route_past:
            for gone in pf.missing_queues(book, org_queues, rules_path):
                get_logger(component="preflight").warning("queue_missing", **gone)
        # a multi-currency org: each lead's amounts in the corporate currency, at the org's rates;
        # an org on custom fiscal years keeps its quarters itself (Period). Read with the day's
        # full check, kept in the state between.
        currencies, periods, period_problems = pf.org_setup(client, ms, store, checked, clock.now())
        if currencies is not None:
            ms.use_currencies(currencies)
            get_logger(component="preflight").info(
                "org_currencies", corporate=currencies.corporate, active=sorted(currencies.rates),
                converted=sorted(currencies.attributes),
                note="lead amounts are compared in the corporate currency, at the org's conversion rates "
                     "(Setup → Manage Currencies), as read with the day's full check")
        if periods:
            book = book.with_fiscal_periods(periods)
            get_logger(component="preflight").info(
                "custom_fiscal_year", periods=len(periods),
                note="\"this quarter\", quarter_start, quarter_end and year_end follow the org's custom fiscal "
                     "periods; days outside them follow fiscal_year_start_month")
        for problem in period_problems:
            said = get_logger(component="preflight")
            (said.info if problem.startswith(pf.UNREAD_PERIODS) else said.warning)(
                "calendar_warning", key="Period", problem=problem)
        # an optional write-back field the org lacks is left out of every write: learnt at
        # each start (one describe), even when the full check passed recently
        warnings = pf.check_mappings(client, ms) if checked else pf.check_optional_fields(client, ms)
        from jobs.owner_names import described_labels

        described_labels(client, ms)  # the reasons name the org's Lead fields by their labels
        for warning in warnings:
            get_logger(component="preflight").warning("mapping_warning", problem=str(warning))
        if checked:  # a rule file on another calendar than the org's: validate says so, and so does a start
            for key, problem, fix in pf.org_calendar(client, book):
                get_logger(component="preflight").warning("calendar_warning", key=f"{rules_path}: {key}",
                                                          problem=problem, fix=fix)
            # a field whose history the org does not track leaves nothing to rebuild a lost state from
            untracked, _ = pf.history_tracking(client, ms)
            if untracked:
                fields = ", ".join(f for f, _ in untracked)
                get_logger(component="preflight").warning(
                    "history_not_tracked", fields=fields, problem="; ".join(f"without {f}'s, {why}" for f, why in untracked),
                    fix=pf.history_fix(ms.sobject("lead"), [f for f, _ in untracked]))
        if checked:
            pf.remember_pass(store, key, clock.now())
        return cls(client=client, mappings=ms, book=book, store=store,
                   clock=clock, settings=s, lookback=timedelta(seconds=s.routing.lookback_seconds))

    def minimiser(self):
        """Trims a lead record to what the state database may keep (jobs/minimise.py)."""
        if self._minimiser is None or self._minimiser[0] is not self.book:
            from jobs.minimise import minimiser

            self._minimiser = (self.book, minimiser(self.mappings, self.book))
        return self._minimiser[1]

    def refresh_leads(self, lead_ids: list[str], now: datetime, counts: dict[str, int]) -> None:
        """Read these leads now and handle them as the lead stream would (jobs/leads.py)."""
        from jobs.leads import refresh

        refresh(self, lead_ids, now, counts)

    def log(self, **bound: Any):
        return get_logger(instance=self.instance, **bound)

    # ------------------------------------------------------------------ routing
    def new_term(self) -> None:
        """This connector leads again (`run` took the lock back): another state may have run
        the org meanwhile, so the next lead job checks again how far this state knows it."""
        self._state_checked, self._known_until, self._term_started = False, None, None

    def snapshot_changed(self) -> None:
        self._snapshot_generation += 1

    def routing(self) -> Routing:
        if self._routing is None or self._routing.generation != self._snapshot_generation:
            from jobs.partners import build_routing

            with self.store.connect() as conn:
                self._routing = build_routing(self, conn, self._snapshot_generation, self._routing)
        return self._routing

    # ------------------------------------------------------------------ running
    def run_job(self, name: str, now: datetime | None = None, *,
                run: Callable[[Any, datetime], dict[str, int]] | None = None) -> JobResult:
        """One run of job `name`, recorded and its errors said. `run`: what it does this time
        instead of its module's `run` (a leader's last outbox flush: jobs/stop_flush.py)."""
        work = run or _job_module(name).run
        run_id = "r" + uuid.uuid4().hex[:11]
        now = now or self.clock.now()
        calls_before = self.client.calls
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(run_id=run_id, job=name):
            with self.store.begin() as conn:
                if self._term_started is None:
                    self._known_until, self._term_started = st.last_finished(conn), now
                if not self._budget_carried:
                    self._adopt_budget(conn)
                row = st.start_job_run(conn, run_id, name, self.instance, now)
            counts: dict[str, int] = {}
            error = None
            try:
                if name in NON_URGENT and self._budget_tight():
                    counts = {"skipped_budget": 1}
                    # info: the budget said it once when it began holding back ("api budget: holding
                    # back non-urgent jobs", a warning) and says when it stops; a warning per held
                    # run was a line per job per interval for the rest of the org's day
                    self.log().info("job_held_back", reason="org API usage above the pause threshold")
                else:
                    if not self._state_checked and name not in ("outbox", "sync_partners", "housekeeping"):
                        # A state that knows no lead while the org has routed ones was lost:
                        # rebuilt from the org before any job acts on leads (jobs/recovery.py).
                        from jobs import recovery

                        rebuilt = recovery.ensure(self, now)
                        self._state_checked = True
                        counts.update({f"rebuilt_{k}": v for k, v in rebuilt.items()})
                    counts.update(work(self, now) or {})
            except Exception as e:
                # a write the state's disk refused (full, read-only, locked by another process):
                # said with the file and the fix, not as a SQLAlchemy traceback
                said = st.sqlite_trouble(str(getattr(e, "orig", "")), st.location(self.store.url)) \
                    if _sqlite_error(e) else None
                error = said or f"{type(e).__name__}: {e}"
                # Errors that explain themselves (a refused query, a rule the org cannot
                # satisfy, Salesforce unreachable) are logged as such; a traceback is for bugs.
                explained = _explained(e) or said is not None
                loud, times, seconds = self.repeats.failed(name, error) if explained else (True, 1, 0.0)
                if _outage_said(self.client, e):
                    # Salesforce is down and the client said so once (salesforce_unavailable): one
                    # more job that could not reach it is no news; its job_run line says ok false
                    self.log().info("job_failed", error=error, note="Salesforce unavailable (said once)")
                elif not loud:  # the same failure as before (jobs/repeats.py): its job_run line says ok false
                    self.log().info("job_failed", error=error, note="failed as before (said once)")
                elif times > 1:
                    self.log().error("job_failed", error=error, times=times, minutes=round(seconds / 60),
                                     note="still failing this way; said again hourly while it lasts")
                else:
                    self.log().error("job_failed", error=error, exc_info=not explained)
            if error is None:
                self.repeats.worked(name)
            api_calls = self.client.calls - calls_before
            seconds = round(time.monotonic() - started, 3)
            budget = getattr(self.client, "budget", None)
            skew = self._clock_skew()
            with self.store.begin() as conn:
                st.finish_job_run(conn, row, self.clock.now(), counts, api_calls, error)
                if budget is not None:
                    st.put_api_budget(conn, self.instance, {**budget.status(), "clock_skew_seconds": skew,
                                                            **self._health()}, self.clock.now())
            self.log().info("job_run", counts=counts, api_calls=api_calls, seconds=seconds,
                            ok=error is None)
        return JobResult(name, run_id, counts, api_calls, seconds, error)

    def _adopt_budget(self, conn: Any) -> None:
        """This instance's calls of earlier processes, kept on in its row of the state (the
        connector's, all instances', were counted when the state was opened: from_config)."""
        self._budget_carried = True
        budget = getattr(self.client, "budget", None)
        if not callable(getattr(budget, "carry", None)):
            return
        for b in st.api_budgets(conn):
            if b["instance"] == self.instance and isinstance(b.get("hours"), dict):
                budget.adopt(b["hours"])

    def _health(self) -> dict[str, Any]:
        """What `leadrouter status` (another process, reading the state) says of this one's
        link to the org: since when Salesforce has not answered (by the connector's clock,
        which runs on from Salesforce's last Date header), and the org lease as last seen."""
        policy = getattr(self.client, "policy", None)
        outage = policy.outage() if callable(getattr(policy, "outage", None)) else None
        since = (self.clock.now() - timedelta(seconds=outage[0])).isoformat() if outage else None
        health: dict[str, Any] = {"salesforce_unavailable_since": since, "failed_calls": outage[1] if outage else 0}
        lease = getattr(self.lock, "lease", None)
        if callable(getattr(lease, "summary", None)):
            health["org_lease"] = lease.summary()
        return health

    def _clock_skew(self) -> float | None:
        """Salesforce's clock minus this host's, in seconds, warned about when large.

        Nothing the connector reads or dates uses the host's clock, so a skew loses no
        lead; it is still worth fixing (logs, cron timing, JWT lifetimes)."""
        skew = getattr(self.client, "clock_skew", None)
        if skew is None:
            return None
        seconds = round(skew.total_seconds(), 1)
        # Only worth a warning when this process runs on Salesforce's time; a demo or a test
        # that drives a simulated org clock (an injected clock) skews on purpose.
        if isinstance(self.clock, SalesforceTime) and abs(seconds) >= CLOCK_SKEW_WARN_SECONDS \
                and time.monotonic() - self._skew_warned >= 3600:
            self._skew_warned = time.monotonic()  # once an hour: a log line per job is noise
            self.log().warning("clock_skew", seconds=seconds,
                               fix="this host's clock differs from Salesforce's; leadrouter keeps Salesforce's "
                                   "time, but check NTP on this host")
        return seconds

    def _budget_tight(self) -> bool:
        budget = getattr(self.client, "budget", None)
        return bool(budget is not None and budget.should_pause_non_urgent())

    def run_cycle(self, now: datetime | None = None, *, raise_errors: bool = True,
                  only_due: bool = False) -> dict[str, JobResult]:
        """Every job once, in cycle order (for `leadrouter once`, cron and the tests).

        `only_due`: skip a job whose last successful run started less than its [schedule]
        interval ago — a cron entry firing every minute then syncs partners every 15."""
        results: dict[str, JobResult] = {}
        due = self._due(now or self.clock.now()) if only_due else None
        for i, name in enumerate(CYCLE):
            if self.stop.is_set():
                break
            if self.lock is not None and not self.lock.still_leader():
                # `once` holds the lock for the whole cycle: a job starts only while it is ours
                self.log().error("leader_lock_lost", job=name, note="job not started; nothing more is done")
                break
            if due is not None and name not in due:
                continue
            r = self.run_job(name, now)
            results[name if name not in results else f"{name}#{i}"] = r
            if r.error and raise_errors:
                raise RuntimeError(f"job {name} failed: {r.error}")
        return results

    def intervals(self) -> dict[str, int]:
        sch = self.settings.schedule
        return {"sync_partners": sch.sync_partners, "leads": sch.leads, "deleted": sch.deleted,
                "expire": sch.offers, "remind": sch.offers, "followup": sch.offers, "outbox": sch.outbox,
                "housekeeping": sch.housekeeping}

    def _due(self, now: datetime) -> set[str]:
        with self.store.connect() as conn:
            last = {r["job"]: r for r in st.last_ok_job_runs(conn)}
        # a little slack: a cron minute and a 60-second interval must not skip every other run;
        # a run told to stop before it stored anything (a partner sync: jobs/sync_partners.py)
        # did not run
        return {name for name, seconds in self.intervals().items()
                if name not in last or (last[name].get("counts") or {}).get("stopped")
                or now - last[name]["started"] >= timedelta(seconds=seconds * 0.9)}

    def scheduled_jobs(self, job_stop: threading.Event):
        """JobSpecs for the scheduler; `job_stop` ends a job after its current batch."""
        from jobs.scheduler import JobSpec

        self.stop = job_stop
        return [JobSpec(name, seconds, (lambda n=name: self.run_job(n))) for name, seconds in self.intervals().items()]


Connector = LeadRouter  # the former name, kept for scripts written against it
