"""Deterministic trouble: what a real org does to a connector on a bad day.

Two sources, both reproducible:
- a named profile (`flaky`, `slow`, `locky`, `expiring`, `outage`, `chaos`) draws
  faults per request from `random.Random(seed, request number)`, so the same client
  doing the same calls meets the same faults;
- a per-test plan: "the next N requests to <endpoint> get <kind>" (optionally after
  letting `skip` through), checked before the profile.

Kinds: `503`, `500`, `lock` (UNABLE_TO_LOCK_ROW for the whole request), `expire`
(the caller's session ends: 401 INVALID_SESSION_ID), `limit` (403 REQUEST_LIMIT_EXCEEDED, as
past the daily API allowance, for this request alone; planned only), `latency` (added delay, then the
request proceeds), `drop` (connection closed without an answer), `lost_answer` (the
request is carried out, then the connection closes before the answer: a client cannot
tell it from `drop`, and sending again does the work twice; planned only), `record_failures`
(composite writes: chosen records fail with UNABLE_TO_LOCK_ROW or another code),
`job_failed` (Bulk API 2.0: closing an ingest job fails it after `share` of its rows;
planned only, never drawn by a profile).

The Pub/Sub API (gRPC) has two kinds of its own, drawn apart from the REST requests'
so that a subscriber does not move the faults a REST client meets: `unavailable` (a
call refused with UNAVAILABLE) and `stream_drop` (an open Subscribe stream ends
between two responses). See `decide_stream`.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("503", "500", "lock", "expire", "limit", "latency", "drop", "lost_answer", "record_failures", "job_failed", "unavailable", "stream_drop")
STREAM_KINDS = ("unavailable", "stream_drop")  # the Pub/Sub API's: see decide_stream
_ROW_KINDS = ("record_failures", "job_failed")  # reach only requests that write rows

# per-request probabilities; latency = (probability, min ms, max ms); record_failures =
# (probability a composite write is affected, share of its records that fail)
PROFILES: dict[str, dict] = {
    "none": {},
    "flaky": {"503": 0.03, "500": 0.01, "lock": 0.02, "drop": 0.005, "expire": 0.002,
              "latency": (0.1, 20, 150), "record_failures": (0.05, 0.02), "unavailable": 0.05, "stream_drop": 0.05},
    "slow": {"latency": (1.0, 50, 250)},
    "locky": {"lock": 0.1, "record_failures": (0.3, 0.05)},
    "expiring": {"expire": 0.05},
    "outage": {"503": 0.5, "unavailable": 0.5},
    "chaos": {"503": 0.08, "500": 0.03, "lock": 0.05, "drop": 0.02, "expire": 0.01,
              "latency": (0.2, 20, 300), "record_failures": (0.2, 0.05), "unavailable": 0.1, "stream_drop": 0.1},
}  # fmt: skip


@dataclass
class Fault:
    kind: str
    latency_ms: int = 0
    record_indices: tuple[int, ...] = ()  # composite positions that fail
    record_share: float = 0.0  # or a share of them, drawn with `rng_seed`
    code: str = "UNABLE_TO_LOCK_ROW"
    rng_seed: int = 0

    def failing_records(self, n: int) -> set[int]:
        if self.record_indices:
            return {i for i in self.record_indices if 0 <= i < n}
        rng = random.Random(self.rng_seed)
        count = max(1, round(n * self.record_share)) if n else 0
        return set(rng.sample(range(n), count))


@dataclass
class _Plan:
    fault: Fault
    remaining: int
    endpoint: str | None
    skip: int = 0


@dataclass
class Decision:
    latency_ms: int = 0
    fault: Fault | None = None  # 503/500/lock/expire/drop
    records: Fault | None = None  # record_failures (composite writes) or job_failed (Bulk ingest close)
    kinds: list[str] = field(default_factory=list)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")


class Faults:
    def __init__(self, profile: str | None = None, seed: int = 0):
        self._lock = threading.Lock()
        self._plans: list[_Plan] = []
        self.profile = "none"
        self.seed = seed
        self._n = 0
        self._stream_n = 0
        self.injected: dict[str, int] = {}
        self.set_profile(profile or "none", seed=seed)

    def set_profile(self, name: str, seed: int | None = None) -> None:
        if name not in PROFILES:
            raise ValueError(f"unknown fault profile {name!r}; use one of {', '.join(PROFILES)}")
        with self._lock:
            self.profile = name
            if seed is not None:
                self.seed = seed
            self._n = 0

    def plan(
        self,
        kind: str,
        *,
        count: int = 1,
        endpoint: str | None = None,
        skip: int = 0,
        latency_ms: int = 200,
        records: list[int] | tuple[int, ...] = (),
        share: float = 0.0,
        code: str = "UNABLE_TO_LOCK_ROW",
    ) -> None:
        """The next `count` requests whose endpoint name contains `endpoint` (after the
        first `skip` of them) get `kind`. `records`/`share` pick the composite records
        that fail for kind `record_failures` (default: the first record)."""
        _check_kind(kind)
        if count < 1:
            raise ValueError(f"fault plan count must be at least 1, got {count}")
        if kind == "record_failures" and not records and not share:
            records = (0,)
        fault = Fault(kind, latency_ms=latency_ms if kind == "latency" else 0, record_indices=tuple(records),
                      record_share=share, code=code, rng_seed=self.seed)  # fmt: skip
        if kind == "record_failures" and endpoint is None:
            endpoint = "composite/sobjects"
        if kind == "job_failed":
            endpoint = endpoint or "jobs/ingest"
            fault.code = code if code != "UNABLE_TO_LOCK_ROW" else "InternalServerError"
        with self._lock:
            self._plans.append(_Plan(fault, count, endpoint, skip))

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()
            self.profile = "none"
            self._n = 0

    def decide(self, endpoint: str, *, composite_write: bool = False, api: bool = True) -> Decision:
        """What goes wrong with this request. Outside the REST API (the token endpoint)
        only plans that name the endpoint apply, and never the profile."""
        decision = Decision()
        with self._lock:
            for plan in self._plans:
                if plan.fault.kind in STREAM_KINDS:
                    continue
                if plan.endpoint is None and not api:
                    continue
                if plan.endpoint is not None and plan.endpoint.lower() not in endpoint.lower():
                    continue
                kind = plan.fault.kind
                if kind in _ROW_KINDS and not composite_write:
                    continue
                if kind == "latency" and decision.latency_ms:
                    continue
                if kind not in ("latency", *_ROW_KINDS) and decision.fault:
                    continue
                if plan.skip:
                    plan.skip -= 1
                    continue
                plan.remaining -= 1
                self._apply(decision, plan.fault)
            self._plans = [p for p in self._plans if p.remaining > 0]
            if api and self.profile != "none" and not (decision.fault or decision.records):
                self._n += 1
                self._draw(decision, random.Random(self.seed * 1_000_003 + self._n), composite_write)
            for kind in decision.kinds:
                self.injected[kind] = self.injected.get(kind, 0) + 1
        return decision

    def decide_stream(self, rpc: str, moment: str) -> Fault | None:
        """What goes wrong with a Pub/Sub call (`moment` "call": `unavailable`) or before
        a response on an open stream (`moment` "batch": `stream_drop`). `rpc` is
        "pubsub/<Method>"; a plan's endpoint matches it by substring, as for REST."""
        kind = "unavailable" if moment == "call" else "stream_drop"
        with self._lock:
            for plan in self._plans:
                if plan.fault.kind != kind or (plan.endpoint is not None and plan.endpoint.lower() not in rpc.lower()):
                    continue
                if plan.skip:
                    plan.skip -= 1
                    continue
                plan.remaining -= 1
                self._plans = [p for p in self._plans if p.remaining > 0]
                self.injected[kind] = self.injected.get(kind, 0) + 1
                return plan.fault
            rate = PROFILES[self.profile].get(kind, 0.0)
            if rate:
                self._stream_n += 1
                if random.Random(self.seed * 2_000_003 + self._stream_n).random() < rate:
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return Fault(kind)
        return None

    def _apply(self, decision: Decision, fault: Fault) -> None:
        decision.kinds.append(fault.kind)
        if fault.kind == "latency":
            decision.latency_ms = fault.latency_ms
        elif fault.kind in _ROW_KINDS:
            decision.records = fault
        else:
            decision.fault = fault

    def _draw(self, decision: Decision, rng: random.Random, composite_write: bool) -> None:
        rates = PROFILES[self.profile]
        if "latency" in rates:
            p, lo, hi = rates["latency"]
            if rng.random() < p and not decision.latency_ms:
                self._apply(decision, Fault("latency", latency_ms=rng.randint(lo, hi)))
        roll = rng.random()
        for kind in ("503", "500", "lock", "drop", "expire"):
            p = rates.get(kind, 0.0)
            if roll < p:
                self._apply(decision, Fault(kind))
                return
            roll -= p
        if composite_write and "record_failures" in rates:
            p, share = rates["record_failures"]
            if rng.random() < p:
                self._apply(decision, Fault("record_failures", record_share=share, rng_seed=rng.randrange(2**31)))

    def describe(self) -> dict:
        with self._lock:
            return {
                "profile": self.profile,
                "seed": self.seed,
                "planned": [
                    {"kind": p.fault.kind, "remaining": p.remaining, "endpoint": p.endpoint, "skip": p.skip}
                    for p in self._plans
                ],
                "injected": dict(self.injected),
            }
