"""Two hosts' clocks never meet in the instances table: the heartbeat row is stamped on
Salesforce's clock (the service's `now`), and a standby judges whether the leader's row is
fresh on that same clock. Before, each host stamped and judged on its own clock: a standby
host minutes off took a live leader's row for a crashed one's and named "a process not
registered as an instance" as the leader."""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

from jobs.leader import lock_for
from jobs.service import Service
from jobs.state import Store
from jobs.state import store as st


def test_the_heartbeat_and_the_standbys_judgement_are_on_salesforces_clock(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    org_now = datetime.now(timezone.utc) - timedelta(minutes=10)  # this host runs 10 minutes fast
    try:
        leader = Service(store=store, lock=lock_for(url), poll_seconds=60, misfire_grace=30,
                         make_jobs=lambda stop: [], now=lambda: org_now, instance="leader-host:1:a")
        leader.role = "leader"
        leader._beat()
        with store.connect() as conn:
            row = next(r for r in st.list_instances(conn) if r["instance"] == "leader-host:1:a")
        seen = row["seen_at"] if row["seen_at"].tzinfo else row["seen_at"].replace(tzinfo=timezone.utc)
        assert abs(seen - org_now) < timedelta(seconds=1), (seen, org_now)

        standby = Service(store=store, lock=lock_for(url), poll_seconds=60, misfire_grace=30,
                          make_jobs=lambda stop: [], now=lambda: org_now + timedelta(seconds=5),
                          instance=f"{socket.gethostname()}:{os.getpid()}:b")
        assert standby._who_leads().startswith("leader-host:1:a, pid "), standby._who_leads()
    finally:
        store.dispose()


def test_an_instances_start_is_stamped_on_salesforces_clock_like_its_heartbeat(tmp_path):
    """`status --json` lists each instance's start and last beat: the start was the host's
    clock, the beat the org's, so against an org four years ahead an instance seemed to
    have started four years before it was last seen."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    org_now = datetime(2031, 2, 28, 10, 59, tzinfo=timezone.utc)  # far from this host's clock, either way
    ticks = iter([100.0, 130.0])  # the service started; 30 s later it beats
    try:
        service = Service(store=store, lock=lock_for(url), poll_seconds=60, misfire_grace=30,
                          make_jobs=lambda stop: [], now=lambda: org_now, instance="org-host:1:a",
                          monotonic=lambda: next(ticks))
        service._beat()
        with store.connect() as conn:
            row = next(r for r in st.list_instances(conn) if r["instance"] == "org-host:1:a")
        started = row["started"] if row["started"].tzinfo else row["started"].replace(tzinfo=timezone.utc)
        assert started == org_now - timedelta(seconds=30), (started, org_now)
    finally:
        store.dispose()
