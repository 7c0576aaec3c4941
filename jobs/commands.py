"""`leadrouter run | once | status`: the connector's own commands."""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from typing import Any

from jobs.config import DEFAULT_CONFIG, ConfigFileError, load

EXIT_CONFIG = 2
EXIT_NOT_LEADER = 3
EXIT_JOB_FAILED = 1
EXIT_STATE = 4  # the state database's path is unusable (jobs/state_path.py)
EXIT_TERMINATED = 143  # 128 + SIGTERM: `once` stopped before every job ran (a cron timeout, a CronJob deadline)


def register(sub: "argparse._SubParsersAction") -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=os.environ.get("LEADROUTER_CONFIG", DEFAULT_CONFIG),
                        help=f"the TOML config (default: $LEADROUTER_CONFIG or {DEFAULT_CONFIG})")
    starting = argparse.ArgumentParser(add_help=False)
    starting.add_argument("--init", action="store_true",
                          help="a new, empty state is intended: create the state directory and database if "
                               "missing (without it a missing directory is an error, a missing file a warning)")
    run = sub.add_parser("run", parents=[common, starting], help="run the scheduler (standby until it is the leader)")
    run.set_defaults(handler=cmd_run)
    once = sub.add_parser("once", parents=[common, starting],
                          help="run every job once and exit (for cron / a CronJob)")
    once.add_argument("--wait-for-leader", type=_wait_seconds, default=0, metavar="SECONDS",
                      help="wait this long for the leader lock instead of exiting at once (0 to 86400)")
    once.add_argument("--due", action="store_true",
                      help="run only the jobs whose [schedule] interval has passed since their last run "
                           "(for a cron entry firing every minute)")
    once.add_argument("--json", action="store_true",
                      help="what the run did as one JSON object on stdout (the log stays on stderr)")
    once.set_defaults(handler=cmd_once)
    state = sub.add_parser("state", help="the state database: rebuild it from the org")
    state_sub = state.add_subparsers(dest="state_command", metavar="SUBCOMMAND")
    rebuild = state_sub.add_parser(
        "rebuild", parents=[common, starting],
        help="rebuild live offers, accepted leads and bars from the org (after the state was lost)",
        description="Rebuild the state from the org: every routed lead carries its partner, owner, attempt, "
                    "deadline and status; LeadHistory names the partners and pools that had it before. The "
                    "state must be empty (move a damaged file aside first). `once`/`run` do this by themselves "
                    "when they find an empty state and routed leads in the org.")
    rebuild.set_defaults(handler=cmd_state_rebuild)
    state.set_defaults(handler=lambda args: (state.print_help(), 2)[1])
    status = sub.add_parser("status", parents=[common], help="what the state database says: jobs, offers, outbox")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=cmd_status)


def _wait_seconds(text: str) -> float:
    """--wait-for-leader: seconds, 0 to a day; -1 or 1e12 was taken silently (no wait, or for ever)."""
    import math

    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (e.g. 60)") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= 86_400:
        raise argparse.ArgumentTypeError(f"{text} is not 0 to 86400 seconds (a day): a cron job that waits longer "
                                         "overlaps its next run")
    return seconds


def _load(args) -> Any:
    from jobs.logging import configure

    try:
        loaded = load(args.config if os.path.exists(args.config) or args.config != DEFAULT_CONFIG else None)
    except ConfigFileError as e:
        print(f"leadrouter: configuration problem\n{e}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)
    configure(loaded.settings.log.format, loaded.settings.log.level)
    return loaded


def _connector(loaded, *, raise_unreachable: bool = False):
    from jobs.app import Connector

    from connector.errors import ConfigError
    from mappings import MappingError
    from rules.errors import RulesError

    from jobs.config import SalesforceUnreachable

    try:
        return Connector.from_config(loaded)
    except SalesforceUnreachable as e:
        if raise_unreachable:  # `run` waits and tries again (jobs/service.py wait_for)
            raise
        print(f"leadrouter: Salesforce did not answer (exit {EXIT_JOB_FAILED}: run again later)\n{e}", file=sys.stderr)
        raise SystemExit(EXIT_JOB_FAILED)
    except (ConfigFileError, ConfigError, MappingError, RulesError) as e:
        print(f"leadrouter: configuration problem\n{e}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)


def _state_ready(loaded, init: bool, rebuild: bool = False):
    """The state path checked before any lock or database is opened (jobs/state_path.py);
    what `prepare` made (its `created`: a new, empty database file)."""
    from jobs.state_path import StatePathError, prepare

    try:
        prepared = prepare(loaded.state_url(), init=init, rebuild=rebuild)
    except StatePathError as e:
        print(f"leadrouter: state database problem\n{e}", file=sys.stderr)
        raise SystemExit(EXIT_STATE)
    from jobs.state.store import StateProblem, check_sqlite_file

    try:  # a damaged file stops everything here, before a lock or a job touches it
        check_sqlite_file(loaded.state_url())
    except StateProblem as e:
        print(f"leadrouter: state database problem\n{e}", file=sys.stderr)
        raise SystemExit(EXIT_STATE)
    return prepared


def _forget_unused_state(prepared) -> None:
    """A start that made a new state file and then stopped before the connector was built
    (a key that cannot be read, a login refused) leaves no empty file behind: the next start
    would take it for a state that had run, and not say that it starts from nothing."""
    path = getattr(prepared, "path", None)
    if path is None or not getattr(prepared, "created", False):
        return
    import sqlite3

    try:
        if path.stat().st_size:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                db.close()
            if tables - {"leader_token"}:
                return  # the state was opened: its tables and version, a state like any other
        for p in (path, path.with_name(path.name + ".migrate.lock"), path.with_name(path.name + ".leader.lock")):
            p.unlink(missing_ok=True)
    except (OSError, sqlite3.Error):
        pass  # left as it was: the next start opens it as a new state


def cmd_run(args) -> int:
    from jobs.leader import guard_jobs, lock_for
    from jobs.service import Service
    from jobs.stop_flush import flush_before_stopping
    from jobs.stream import Streams

    loaded = _load(args)
    _state_ready(loaded, args.init)
    lock = lock_for(loaded.state_url())
    service = Service(store=None, lock=lock, poll_seconds=loaded.settings.schedule.leads,
                      make_jobs=lambda stop: [], misfire_grace=loaded.settings.schedule.misfire_grace,
                      metrics_bind=loaded.settings.metrics.bind, org=loaded.settings.org.name)
    service.install_signal_handlers()
    from jobs.state.store import behind

    earlier = behind(loaded.state_url())
    if earlier is not None and not service.lead_before_migrating(earlier):  # stopped while waiting
        service.close_endpoint()
        return 0
    # A service waits for Salesforce and the database server instead of exiting (`once`
    # exits 1 / 4 for cron to run it again): under systemd or Kubernetes an exit is a
    # restart loop, and /healthz meanwhile says what it waits for.
    cx = service.wait_for(lambda: _connector_for_run(loaded))
    if cx is None:  # stopped while waiting
        service.close_endpoint()
        return 0
    from jobs.org_lease import with_org_lease

    # both the state's lock and the org's lease (connector/lease.py): a connector with its own
    # state on the same org waits as this one's standby
    lock = service.lock = with_org_lease(lock, cx, loaded, instance=service.instance)
    cx.lock = lock  # write batches are fenced by its token (jobs/outbox.py fence)
    # a dead leader's last batch may still land: read back by a later outbox run, not waited for
    cx.defer_in_flight = True
    # CDC first; the jobs poll to reconcile; each job first asks the lock whether we still lead
    streams = Streams(cx)
    stop_flush = loaded.settings.schedule.stop_flush
    service.attach(cx.store, make_jobs=guard_jobs(streams.make_jobs, lock),
                   on_leader=lambda: _first_as_leader(cx, service.stop), now=cx.clock.now,
                   check_login=cx.client.login_again,
                   on_stop=lambda: flush_before_stopping(cx, stop_flush, hold=streams.lock))
    cx.instance = service.instance
    return service.run()


def _connector_for_run(loaded):
    """The connector, or `Unavailable` when Salesforce or the state database server does
    not answer; any other problem ends the command as `once` would (exit 2 or 4)."""
    from connector.errors import TransientError

    from jobs.config import SalesforceUnreachable
    from jobs.service import Unavailable
    from jobs.state.store import StateProblem

    try:
        return _connector(loaded, raise_unreachable=True)
    except SalesforceUnreachable as e:
        raise Unavailable("salesforce", str(e)) from None
    except TransientError as e:  # a query of the start (the org's id, the preflight) failed after retries
        raise Unavailable("salesforce", f"{type(e).__name__}: {e}") from None
    except StateProblem as e:
        if not _server_down(loaded.state_url()):
            raise
        raise Unavailable("state database", str(e).splitlines()[0]) from None


def _server_down(url: str) -> bool:
    """Whether the state database's SERVER does not answer (not a damaged or refused state)."""
    if url.startswith("sqlite"):
        return False
    from sqlalchemy import create_engine, text

    from jobs.state.store import server_connect_args

    engine = create_engine(url, poolclass=None, pool_size=1, max_overflow=0, connect_args=server_connect_args(url))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return False
    except Exception as e:  # noqa: BLE001 - no connection at all is the answer
        said = str(getattr(e, "orig", None) or e)
        # a server that answered and refused (no such database or role, a wrong password) is
        # a configuration to fix, not an outage to wait out, unless it is on its way up or
        # down, or full
        return "FATAL:" not in said or any(t in said for t in _PASSING_REFUSALS)
    finally:
        engine.dispose()


_PASSING_REFUSALS = ("starting up", "shutting down", "recovery", "too many clients", "connection slots")


def _first_as_leader(cx, stopping=None) -> None:
    """Before the scheduler starts: settle what a previous leader left in the outbox,
    and have partners to route to before the first lead is read.

    `stopping`: the service's stop (SIGTERM, Ctrl-C). Set while the outbox settles, the
    batch on the wire is finished and settled, no other is started, and the partner sync
    does not start: the service then writes what is pending as any leader stopped does
    (its `on_stop`, for at most [schedule] stop_flush seconds)."""
    import threading

    from jobs.logging import get_logger

    cx.snapshot_changed()  # another leader may have refreshed partners since we last built the index
    cx.new_term()  # and another connector may have run the org meanwhile (jobs/recovery.py caught_up)
    # the last term's stop, set when that term ended (a lost lock), would end the flush
    # before its first batch: a leader back after losing the lock wrote no leftovers first.
    # The service's own stop is this process's, set only when it is told to stop.
    cx.stop = stopping if stopping is not None else threading.Event()
    for job in ("outbox", "sync_partners"):
        if cx.stop.is_set():
            get_logger().info("settle_stopped", job_not_run=job,
                              note="told to stop while settling as the new leader: nothing more starts; the "
                                   "writes pending go out for at most [schedule] stop_flush seconds, the rest is "
                                   "the next leader's, before its first job")
            return
        cx.run_job(job)


def cmd_once(args) -> int:
    import threading

    from jobs.leader import NotLeader, lock_for
    from jobs.logging import get_logger

    loaded = _load(args)
    prepared = _state_ready(loaded, args.init)
    lock = lock_for(loaded.state_url())
    stop = threading.Event()
    unused = False
    try:
        if args.wait_for_leader:
            from jobs.leader import wait_for_leadership

            got = wait_for_leadership(lock, min(5.0, args.wait_for_leader), stop, timeout=args.wait_for_leader)
        else:
            got = lock.try_acquire()
    except NotLeader as e:  # the state file was replaced since it was checked
        print(f"leadrouter: state database problem\n{e}", file=sys.stderr)
        return EXIT_STATE
    except OSError as e:  # the lock file cannot be made: a path problem, not another instance
        print(f"leadrouter: state database problem\ncannot create the leader lock {getattr(lock, 'path', '')}: "
              f"{e.strerror or e}\n  fix: let the user running leadrouter write the state directory",
              file=sys.stderr)
        return EXIT_STATE
    if not got and getattr(lock, "unreachable", None):  # no answer at all is not "another instance leads"
        from jobs.state.store import unreachable

        print(f"leadrouter: state database problem\n{unreachable(loaded.state_url(), lock.unreachable)}", file=sys.stderr)
        return EXIT_STATE
    if not got:
        get_logger().warning("not_leader", note="another instance holds the leader lock; nothing done")
        return EXIT_NOT_LEADER
    try:
        try:
            cx = _connector(loaded)
        except SystemExit:
            unused = not args.init  # --init: the operator made this state on purpose
            raise
        joined = _org_lease_for_once(lock, cx, loaded, args.wait_for_leader, stop)
        if joined is None:
            return EXIT_NOT_LEADER
        lock = joined  # released below: the lease too (a clean end hands the org over at once)
        cx.lock = lock  # write batches are fenced by its token (jobs/outbox.py fence)
        stopped_by = _stop_on_sigterm(cx.stop)
        results = cx.run_cycle(raise_errors=False, only_due=args.due)
        _print_summary(results, getattr(args, "json", False))
        gone = getattr(lock, "gone", None)
        if gone:  # the state file was deleted or replaced mid-run: said, jobs stopped
            print(f"leadrouter: state database problem\n{gone}", file=sys.stderr)
            return EXIT_STATE
        lease = getattr(lock, "lease", None)
        if getattr(lease, "deposed", False):  # another connector took the org over mid-run
            holder = lease.holder_elsewhere()
            print(f"leadrouter: another connector took this org's lease during the run"
                  f"{f' ({holder} holds it)' if holder else ''}; nothing was written after that, and the rest is "
                  f"left to it (exit {EXIT_NOT_LEADER}: expected when two connectors share an org; if not meant, "
                  "stop one of them)", file=sys.stderr)
            return EXIT_NOT_LEADER
        failed = [r for r in results.values() if r.error]
        if stopped_by:  # the lock and the lease still ours: write what was decided first
            return _write_before_exit(cx, loaded.settings.schedule.stop_flush, stopped_by[0], bool(failed))
        return EXIT_JOB_FAILED if failed else 0
    finally:
        lock.release()
        if unused:
            _forget_unused_state(prepared)


def _print_summary(results, as_json: bool) -> None:
    """What the run did, on stdout for the person who ran it (jobs/run_summary.py); the log
    lines stay on stderr, the exit code is the run's."""
    from jobs import run_summary

    said = run_summary.summary(results)
    if as_json:
        # one line: a CronJob's log pipeline reads it as one record beside the JSON log lines
        print(json.dumps(said, default=_json_default))
    else:
        from jobs.printable import for_terminal

        print(for_terminal(run_summary.text(said)))
    sys.stdout.flush()


def _org_lease_for_once(lock, cx, loaded, wait: float, stop):
    """The state's lock joined with the org's lease, or None (exit 3) when another connector
    with its own state holds the lease. The state's lock stays ours either way: the caller
    releases it."""
    from jobs.logging import get_logger
    from jobs.org_lease import LeasedLock, with_org_lease

    from connector.errors import BudgetExceeded, ConnectorError

    joined = with_org_lease(lock, cx, loaded)
    if not isinstance(joined, LeasedLock):
        return joined  # the org did not tell its id: said once, the state's lock alone as before
    try:
        if wait:
            from jobs.leader import wait_for_leadership

            got = wait_for_leadership(joined.lease, min(5.0, wait), stop, timeout=wait)
        else:
            got = joined.lease.try_acquire()
    except BudgetExceeded as e:  # the org answers: it is the connector's own day that is spent
        print(f"leadrouter: the API budget is spent (exit {EXIT_JOB_FAILED}: run again later)\n"
              f"{e}", file=sys.stderr)
        raise SystemExit(EXIT_JOB_FAILED) from None
    except ConnectorError as e:  # Salesforce stopped answering between the login and the lease
        print(f"leadrouter: Salesforce did not answer (exit {EXIT_JOB_FAILED}: run again later)\n"
              f"the org lease ({joined.lease.description}): {e}", file=sys.stderr)
        raise SystemExit(EXIT_JOB_FAILED) from None
    if got:
        return joined
    get_logger().warning("not_leader", holder=joined.lease.holder_elsewhere(),
                         note="another connector holds this org's lease (its own state database, another host "
                              "or deployment); nothing done")
    return None


def _write_before_exit(cx, seconds: int, signum: int, failed: bool) -> int:
    """After a stop, the writes decided and still pending go out for at most `seconds`, as
    `run` does (jobs/stop_flush.py): a cron job killed by its timeout, or a CronJob past its
    deadline, otherwise left leads decided in the state and unchanged in the org until the
    next run. SIGTERM exits non-zero (the run did not do all its jobs) with a line saying so;
    Ctrl-C, a person trying `once` in a terminal, keeps its exit 0."""
    import signal

    from jobs.stop_flush import flush_before_stopping

    left = flush_before_stopping(cx, seconds)
    if signum != signal.SIGTERM:
        return EXIT_JOB_FAILED if failed else 0
    print(f"leadrouter: `once` stopped by SIGTERM before every job ran (exit {EXIT_TERMINATED}); the batch in "
          "flight was finished and "
          + ("every decided write was sent to Salesforce" if not left else
             f"{left} decided writes left pending: [schedule] stop_flush ({seconds} s) ran out before they were "
             "sent; they stay in the outbox, and the next run writes them")
          + ". The jobs not run run at the next run; if the stop was a timeout, give the cron job longer",
          file=sys.stderr)
    return EXIT_TERMINATED


def _stop_on_sigterm(stop) -> list[int]:
    """A CronJob pod being stopped, or Ctrl-C: finish the batch in flight, start no other
    job; the caller then writes what was decided (`_write_before_exit`). A second Ctrl-C
    stops at once, as `run` does (jobs/service.py stop_now). The signal received, once
    one is, in the list returned."""
    import os
    import signal

    from jobs.service import EXIT_INTERRUPTED

    def _graceful(signum, _frame):  # noqa: ANN001
        from jobs.logging import get_logger

        if signum == signal.SIGINT and stop.is_set():
            try:
                get_logger().warning("stopped_now", signal="SIGINT", exit_code=EXIT_INTERRUPTED,
                                     note="safe to rerun: a write batch is marked sent before it goes to "
                                          "Salesforce, and the next run reads those leads back and settles them")
            finally:
                os._exit(EXIT_INTERRUPTED)
        received.append(signum)
        stop.set()
        get_logger().info("stopping", signal=signal.Signals(signum).name,
                          note="the job in flight finishes its current batch; no other job starts; the writes "
                               "already decided go out (at most [schedule] stop_flush seconds)"
                               + ("; a second Ctrl-C stops at once" if signum == signal.SIGINT else ""))

    received: list[int] = []
    signal.signal(signal.SIGTERM, _graceful)
    signal.signal(signal.SIGINT, _graceful)
    return received


def cmd_state_rebuild(args) -> int:
    from jobs import recovery
    from jobs.leader import lock_for

    loaded = _load(args)
    _state_ready(loaded, args.init, rebuild=True)
    lock = lock_for(loaded.state_url())
    if not lock.try_acquire():
        print("leadrouter: another instance holds the leader lock; stop it before rebuilding its state",
              file=sys.stderr)
        return EXIT_NOT_LEADER
    try:
        cx = _connector(loaded)
        if not recovery.state_is_empty(cx):
            print("leadrouter: the state database already knows leads; a rebuild starts from an empty one\n"
                  "  fix: move the state file aside (or point [state] url at a new database) and run this again",
                  file=sys.stderr)
            return EXIT_STATE
        now = cx.clock.now()
        from jobs import sync_partners

        sync_partners.run(cx, now)
        counts = recovery.rebuild(cx, now)
        cx._state_checked = True
        print("rebuilt from the org: " + (", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
                                          or "no routed lead found"))
        return 0
    finally:
        lock.release()


def cmd_status(args) -> int:
    from jobs.state import offers as of
    from jobs.state import outbox as ob
    from jobs.state import store as st
    from jobs.state.schema import watermarks
    from jobs import stream

    from jobs.state_path import Reader, StatePathError
    from jobs.state.schema import SCHEMA_VERSION

    loaded = _load(args)
    from jobs.state.store import check_sqlite_file

    try:
        store = Reader(loaded.state_url())  # read-only: no lock, no migration, never creates a file
    except StatePathError as e:
        print(f"leadrouter: state database problem\n{e}", file=sys.stderr)
        return EXIT_STATE
    check_sqlite_file(loaded.state_url())  # damaged mid-file: one message and exit 4 (jobs/cli.py)
    parts: dict[str, Any] = {
        "org": lambda c: _org_status(c, loaded),
        "instances": st.list_instances,
        "jobs": st.last_job_runs,
        "offers": of.offer_status_counts,
        "leads": of.lead_state_counts,
        "next_deadline": of.next_deadline,
        "oldest_open_offer": of.oldest_live_offer,
        "api_budget": st.api_budgets,
        "outbox": ob.status_counts,
        "oldest_open_outbox": ob.oldest_open,
        "refusals": ob.unwritten_refusals,
        "activity_tasks": activity_backlog,
        "held_escalations": lambda c: held_escalations(c, _escalation_queue(loaded)),
        "queues_missing": lambda c: _queues_missing(c, loaded),
        "snapshot": st.snapshot_counts,
        "watermarks": lambda c: {r.name: r.value for r in c.execute(watermarks.select())},
        "stream": stream.status,
        "bulk_jobs": _bulk_jobs_status,
        "feedback": lambda c: _feedback_status(c, loaded),
    }
    report: dict[str, Any] = {"state": _safe_url(loaded.state_url()), "schema_version": store.version}
    if store.version is not None and store.version < SCHEMA_VERSION:
        # an earlier release's state, not migrated by a look: each part it can answer, each in
        # its own connection (on PostgreSQL a failed read ends its transaction), the rest unsaid
        import sqlalchemy as sa

        for name, read in parts.items():
            try:
                with store.connect() as conn:
                    report[name] = read(conn)
            except sa.exc.SQLAlchemyError:
                report[name] = None
        report["rebuilt"] = None
    else:
        with store.connect() as conn:
            report.update({name: read(conn) for name, read in parts.items()})
            report["rebuilt"] = _rebuild_status(conn, report["snapshot"])
    store.dispose()
    from jobs.ops import status as people

    report["leader"] = people.leader(loaded.state_url(), report["instances"])
    report["salesforce"], report["org_lease"] = people.link(report["api_budget"])
    if args.json:
        print(json.dumps(report, default=_json_default, indent=2))
    else:
        from jobs.printable import for_terminal

        print(for_terminal(people.render(report)))
    return 0


def activity_backlog(conn) -> dict[str, Any]:
    """Activity Tasks Salesforce could not take yet, which the outbox job tries again."""
    from jobs.state import activity

    return activity.backlog(conn)


def _escalation_queue(loaded) -> str | None:
    """The rules file's [settings] escalation_queue (None when the file cannot be read)."""
    import tomllib
    from pathlib import Path

    try:
        rules_path = loaded.resolve(loaded.settings.routing.rules)
        return tomllib.loads(Path(rules_path).read_text()).get("settings", {}).get("escalation_queue")
    except Exception:  # noqa: BLE001 — status says the queue as the held leads name it
        return None


def held_escalations(conn, queue: str | None = None) -> dict[str, Any]:
    """Leads held because the escalation queue is not in the org (jobs/lifecycle.hold_escalation):
    how many, the queue (`queue`: as the rules file names it; else as their decision, or
    their reason, names it), and the fix."""
    from jobs.lifecycle import ESCALATION_HELD, HELD_RULE
    from jobs.state import offers as of
    from jobs.state import outbox as ob

    waiting = of.leads_in_state(conn, "unroutable", HELD_RULE, ESCALATION_HELD)
    if not waiting:
        return {"leads": 0}
    # the queue as the rules file names it (the key to change): the reason names it by its label
    held = ((ob.last_decision(conn, waiting[0]["lead_id"]) or {}).get("explanation") or {}).get("held")
    said = waiting[0]["reason"] or ""
    queue = queue or (held.get("queue") if isinstance(held, dict) else None) or \
        said[len(ESCALATION_HELD):].removeprefix("queue ").split(" is not in the org", 1)[0]
    return {"leads": len(waiting), "queue": queue, "since": waiting[0]["updated_at"],
            "first": [w["lead_id"] for w in waiting[:5]],
            "problem": f"the escalation queue {queue} is not in the org: leads that must escalate are held "
                       "(Unroutable, their reason saying so); every other lead routes on",
            "fix": f"create the queue {queue} again (Setup > Queues, supported object Lead) or name an existing "
                   "queue in the rules file's [settings] escalation_queue; the held leads escalate at the next "
                   "cycle after that"}


def _queues_missing(conn, loaded) -> list[dict[str, str]]:
    """The queues the rules file names that the org lacked at the last partner sync (the
    queues it read then, kept in the state), each with what becomes of their leads and the fix."""
    from jobs import preflight as pf
    from jobs.state import store as st

    known = {r["DeveloperName"] for r in st.snapshot_records(conn, "queue") if r.get("DeveloperName")}
    if not known:  # no partner sync yet: nothing to compare with
        return []
    try:
        from jobs.performance import rule_attributes
        from mappings import load_mappings
        from rules import load_rules

        rules_path = loaded.resolve(loaded.settings.routing.rules)
        lead_attributes, partner_attributes = rule_attributes(load_mappings(loaded.resolve(loaded.settings.mappings.dir)))
        book = load_rules(rules_path, lead_attributes=lead_attributes, partner_attributes=partner_attributes)
    except Exception as e:  # noqa: BLE001 — status reports what it can; this part says why it cannot
        return [{"queue": "?", "where": "rules", "problem": f"the rules file could not be read: {str(e)[:200]}",
                 "fix": "run leadrouter validate"}]
    return pf.missing_queues(book, known, rules_path)


def _org_status(conn, loaded) -> dict[str, Any]:
    """The org this state belongs to: the configured name and what the state recorded."""
    from jobs.state import orgs

    found = orgs.recorded(conn)
    name, org_id = found if found else (None, None)
    return {"configured": loaded.settings.org.name, "recorded": name, "organization_id": org_id}


def _rebuild_status(conn, snapshot: dict[str, int]) -> dict[str, Any] | None:
    """The latest rebuild of this state from the org (jobs/recovery.py), and what it could not rebuild."""
    if not snapshot.pop("rebuild", None):
        return None
    from jobs import recovery

    return recovery.last_rebuild(conn)


def _bulk_jobs_status(conn) -> list[dict[str, Any]]:
    """Bulk API 2.0 ingest jobs not settled yet (a kill leaves them for the next run to pick
    up): what an admin looks for in Setup > Bulk Data Load Jobs."""
    from sqlalchemy import inspect, select

    from jobs.state.schema import bulk_jobs

    if not inspect(conn).has_table("bulk_jobs"):
        return []
    rows = conn.execute(select(bulk_jobs).where(bulk_jobs.c.state != "settled").order_by(bulk_jobs.c.id)).mappings()
    return [{"job_id": r["job_id"], "upload": r["upload"], "sobject": r["sobject"], "state": r["state"],
             "entries": len(r["entries"] or ()), "created_at": r["created_at"], "note": r["note"]} for r in rows]


def _feedback_status(conn, loaded) -> dict[str, Any] | None:
    """Adjustments partners' feedback put in force (jobs/feedback.py): a count and the list."""
    from jobs import feedback

    try:
        from mappings import load_mappings

        adj = feedback.from_state(conn, load_mappings(loaded.resolve(loaded.settings.mappings.dir)))
    except Exception as e:  # noqa: BLE001 — status reports what it can; this part says why it cannot
        return {"count": None, "error": str(e)[:200]}
    return adj.to_dict() if adj is not None else None


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat()
    return str(v)
