"""Predictive fit with a fairness floor: the `distribute = "predictive"` strategy.

For each eligible partner the learner estimates the chance that offering it this lead
ends in a conversion — chance to accept × chance to convert once accepted — for the
lead's segment (country, industry, products, company size, source), from outcomes
only (`observe(OutcomeEvent)`; it never sees how the market works). The best estimate
wins, less a capacity price (below); `explore = 1` draws instead, one Beta per partner
around its estimate (Thompson sampling: a partner with little evidence draws widely and
gets tried). By default a partner nobody knows is tried through its fairness floor.

Capacity as a price: a partner's free places are what the routing spends, and a greedy
choice spends the best partners' on whatever lead comes first, the ones others convert
nearly as well included. Each partner's value for a lead is its estimate (as a share of
the best) less `capacity_price` × (open load / cap)², its cap the lower of Capacity__c
and the load at its last "no capacity": near its cap a partner keeps its last places for
the leads it converts clearly better than the rest (bench/quality.py: told the truth,
this beats the greedy oracle by 9 %; learnt, with the logistic model below: +2.7 % conversions, oracle_ratio 0.754 → 0.774).

The chance to convert, once leads have closed, is a logistic model (`_Logistic`: it ranks
partners better than counts can, judging a segment cell with all the partner's outcomes).
The counts below give the chance to accept, the evidence, and the chance to convert
before anything has closed. The model, per head (accept, convert), is a Beta–Bernoulli
per partner with empirical-Bayes priors: a partner nobody knows starts at its tier's pooled rate (its tier is the
one thing the org tells us about quality), worth `prior_strength` outcomes. Segments
enter as log-odds lifts: a lift every partner shares (pooled over all outcomes: a
referral converts better than a purchased list) plus the partner's own deviation for
that segment value, shrunk toward none until its outcomes there say otherwise. We
chose our own ~100 lines over a library (PyMC, scikit-learn, vowpal wabbit): the model
must update one outcome at a time, persist as plain JSON, explain each estimate in
words, and decide in tens of microseconds; numpy supplies the Beta draws.

A partner's own outcomes fade with a half-life (`half_life_days`, 60; conversions
`convert_half_life_days`, 150; the rule file's `answers_half_life_days` and
`conversions_half_life_days`): a partner that got better or worse is seen as it is now.
Conversions fade slower because there are few of them — one per accepted lead, weeks
after it — and a model that forgets them at the answers' pace starves (bench/quality.py,
four markets: 150 days converts 1 % more than 60, the drifting market included).

The choice weighs the chance to accept as accept ** `accept_weight` (0.5), not whole: a
declined offer goes to the next choice at once, so a partner that converts far better is
worth offering first though it declines more often (four markets: +3 % conversions over
accept × convert; 0.25 and 0 do no better, and a lapse costs the lead time in a real org
that the benchmark does not charge). And a partner whose Account lists the lead's industry
starts `claim_prior` (0.4) log-odds ahead, a prior on the pooled "claims" effect that the
outcomes replace: before the first lead has closed nothing else tells partners apart. A "no capacity" decline marks the open load at
which the partner said so; below it the partner gets leads again, and the mark rises when
it accepts at or above it.

Fairness floor: every partner eligible for a lead is owed `floor` × its fair share
(1 / number eligible, for each lead it could have taken). A partner behind on what it
is owed gets a bonus that grows with the debt, so it catches up on the leads where its
own draw is nearest the best; a partner owed `hard_debt` leads gets the next one.

Deciding may refit the logistic model (a cache of the closed outcomes: `to_dict` is
unchanged). Pure: randomness comes from the `seed` given (one stream per lead, rule and attempt,
so `explain` shows the draw `decide` made), time from the caller. The router never
writes here; `record_offer(decision)` once a decision is committed, as for RoutingState.
"""
from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from rules.model import Decision, DecisionKind, Lead, Partner
from rules.performance import OutcomeEvent

TIER_ORDER = ("Registered", "Silver", "Gold", "Platinum")
_ACCEPT_KINDS = {"accepted": 1, "rejected": 0, "lapsed": 0}
_CONVERT_KINDS = {"converted": 1, "lost": 0}
_FULL_ACCEPT = 0.1  # acceptance assumed of a partner at the load it last declined for capacity
# Partners' ratings of lead quality (1–5) in the score: log-odds per point a segment's leads
# are rated below or above all rated leads, its average shrunk as if RATING_STRENGTH more
# ratings sat at everyone's average. 0.4 per point: 30 leads of a source rated 2 where all
# average 3.5 take a score of 0.30 to 0.21 (−0.45 log-odds); one lead rated 1, −0.09.
RATING_WEIGHT = 0.4
RATING_STRENGTH = 10.0
_PENDING_MAX = 50_000  # offers decided but not yet recorded; older ones are dropped (never committed)
CLAIMS_INDUSTRY = "claims_industry=yes"


def size_band(employees: int | None) -> str:
    if employees is None:
        return "unknown"
    if employees < 200:
        return "small"
    return "mid" if employees < 2000 else "enterprise"


def _fold(value: str) -> str:
    return value.strip().casefold()


@functools.lru_cache(maxsize=4096)
def _folded(values: frozenset[str]) -> frozenset[str]:
    return frozenset(_fold(v) for v in values)


def segment_of(lead: Lead) -> tuple[str, ...]:
    """The lead's segment as keys: place, industry, products, size, source. Values are
    folded (case, surrounding spaces): a lead decided is read in the rules' spelling
    (rules/spelling.py) but an outcome is learnt from the lead as stored, so "technology"
    and "Technology" must be one segment or what is learnt is never read."""
    keys = [f"country={_fold(lead.country or '')}", f"industry={_fold(lead.industry or '')}",
            f"size={size_band(lead.employees)}", f"source={_fold(lead.source or '')}"]
    keys.extend(sorted({f"product={_fold(p)}" for p in lead.products}))
    return tuple(keys)


def claim_keys(lead: Lead, industries: frozenset[str], products: frozenset[str]) -> tuple[str, ...]:
    """How the partner's own account describes its fit to this lead: does it list the lead's
    industry, and how many of the lead's products (compared folded, as segments are). Their
    lift is learnt pooled over every partner (do claims mean anything here?), so it helps
    from the first outcomes on."""
    keys = []
    if lead.industry:
        claims = lead.industry in industries or _fold(lead.industry) in _folded(industries)
        keys.append(f"claims_industry={'yes' if claims else 'no'}")
    if lead.products:
        wanted = {_fold(p) for p in lead.products}
        shared = len(wanted & _folded(products))
        keys.append("claims_products=" + ("all" if shared == len(wanted) else "some" if shared else "none"))
    return tuple(keys)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class _Head:
    """Counts for one Bernoulli outcome (accept, or convert once accepted): in total, per
    tier, per segment key, and per partner and (key, partner) as numpy arrays over the
    learner's partner numbering, so a lead's candidates are estimated in a few vector steps."""

    def __init__(self, name: str, default: float):
        self.name = name
        self.default = default  # rate assumed before any outcome at all
        self.priors: dict[str, float] = {}  # segment key → log-odds lift assumed before its outcomes
        self.total = [0, 0]  # [successes, trials]
        self.tier: dict[str, list[int]] = {}
        self.key: dict[str, list[int]] = {}
        self.ps = np.zeros(0)  # per partner: successes
        self.pn = np.zeros(0)  # per partner: trials
        self.krow: dict[str, int] = {}  # segment key → its row in cs / cn
        self.cs = np.zeros((0, 0))  # (key, partner): successes
        self.cn = np.zeros((0, 0))  # (key, partner): trials
        self.seen = np.zeros(0)  # per partner: day (since 1970) of its latest outcome here, for forgetting

    def grow(self, size: int) -> None:
        if size <= len(self.ps):
            return
        size = max(size, 2 * len(self.ps), 64)
        extra = size - len(self.ps)
        self.ps, self.pn = np.concatenate([self.ps, np.zeros(extra)]), np.concatenate([self.pn, np.zeros(extra)])
        self.seen = np.concatenate([self.seen, np.zeros(extra)])
        self.cs = np.pad(self.cs, ((0, 0), (0, extra)))
        self.cn = np.pad(self.cn, ((0, 0), (0, extra)))

    def _row_of(self, key: str) -> int:
        r = self.krow.get(key)
        if r is None:
            r = self.krow[key] = len(self.krow)
            if r >= self.cs.shape[0]:
                more = max(16, self.cs.shape[0])
                self.cs = np.pad(self.cs, ((0, more), (0, 0)))
                self.cn = np.pad(self.cn, ((0, more), (0, 0)))
        return r

    def add(self, i: int, tier: str, keys: Iterable[str], y: int, day: float = 0.0,
            half_life: float | None = None) -> None:
        if half_life and self.seen[i] and day > self.seen[i]:
            # forget: the partner's older outcomes weigh half as much every `half_life` days
            f = 0.5 ** ((day - self.seen[i]) / half_life)
            self.ps[i] *= f
            self.pn[i] *= f
            self.cs[:, i] *= f
            self.cn[:, i] *= f
        self.seen[i] = max(self.seen[i], day)
        for counts in (self.total, self.tier.setdefault(tier, [0, 0])):
            counts[0] += y
            counts[1] += 1
        self.ps[i] += y
        self.pn[i] += 1
        for k in keys:
            counts = self.key.setdefault(k, [0, 0])
            counts[0] += y
            counts[1] += 1
            r = self._row_of(k)
            self.cs[r, i] += y
            self.cn[r, i] += 1

    def overall(self) -> float:
        s, n = self.total
        return (s + 2 * self.default) / (n + 2)

    def lift(self, key: str, overall: float, strength: float = 30.0) -> float:
        """Log-odds lift of a segment value, pooled over every partner: its rate against
        everyone's, both shrunk alike (a value every outcome shares lifts nothing) — or
        toward the head's prior lift for that key, where it has one."""
        prior = self.priors.get(key, 0.0)
        s, n = self.key.get(key, (0, 0))
        if not n:
            return prior
        ts, tn = self.total
        own = _sigmoid(_logit(overall) + prior) if prior else overall
        return _logit((s + strength * own) / (n + strength)) - _logit((ts + strength * overall) / (tn + strength))

    def estimate(self, rows: np.ndarray, tiers: list[str], keys: tuple[str, ...], prior_strength: float,
                 cell_strength: float, claims: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """(mean, evidence) per partner row, for a lead of these segment keys (and, per partner,
        these claim keys)."""
        overall = self.overall()
        tier_rate = {}
        for t in set(tiers):
            ts, tn = self.tier.get(t, (0, 0))
            tier_rate[t] = (ts + 20 * overall) / (tn + 20)  # the tier's pooled rate, shrunk toward everyone's
        prior = np.array([tier_rate[t] for t in tiers])
        n = self.pn[rows]
        base = (self.ps[rows] + prior_strength * prior) / (n + prior_strength)
        lb = _vlogit(base)
        # claim keys: few distinct ones (claims_industry=yes/no, claims_products=all/some/none)
        distinct: dict[tuple[str, ...], float] = {}
        for ck in claims:
            if ck not in distinct:
                distinct[ck] = sum(self.lift(k, overall) for k in ck)
        if any(distinct.values()):
            lb = lb + np.array([distinct[ck] for ck in claims])
        products = sum(1 for k in keys if k.startswith("product="))
        weights = [1 / products if k.startswith("product=") else 1.0 for k in keys]
        lifts = [self.lift(k, overall) for k in keys]
        x = lb + sum(w * g for w, g in zip(weights, lifts))
        known = [j for j, k in enumerate(keys) if k in self.krow]
        if known:
            # every segment key at once, a (key, partner) block: what the partner should do there were
            # it like everyone, moved by its own outcomes there
            kr = np.array([self.krow[keys[j]] for j in known], dtype=np.intp)
            block = np.ix_(kr, rows)
            cs, cn = self.cs[block], self.cn[block]
            g = np.array([lifts[j] for j in known])[:, None]
            lbg = lb[None, :] + g
            expect = 1 / (1 + np.exp(-lbg))
            # against the partner's own overall rate, shrunk alike and lifted the same: a cell
            # holding all the partner's outcomes, like everyone's there, moves nothing
            own = _vlogit((self.ps[rows] + cell_strength / (1 + np.exp(-lb))) / (n + cell_strength))
            dev = np.where(cn > 0, _vlogit((cs + cell_strength * expect) / (cn + cell_strength)) - (own[None, :] + g),
                           0.0)
            x = x + (np.array([weights[j] for j in known])[:, None] * dev).sum(axis=0)
        return 1 / (1 + np.exp(-x)), n + prior_strength

    def to_dict(self, ids: list[str]) -> dict[str, Any]:
        rows = [i for i in range(len(ids)) if self.pn[i]]
        return {"total": self.total, "tier": self.tier, "key": self.key,
                "partner": {ids[i]: [_num(self.ps[i]), _num(self.pn[i]), _num(self.seen[i])] for i in rows},
                "cell": {k: {ids[i]: [_num(self.cs[r, i]), _num(self.cn[r, i])] for i in range(len(ids))
                             if self.cn[r, i]} for k, r in self.krow.items()}}

    def load(self, data: dict[str, Any], row: Any) -> None:
        self.total = list(data.get("total", [0, 0]))
        self.tier = {k: list(v) for k, v in data.get("tier", {}).items()}
        self.key = {k: list(v) for k, v in data.get("key", {}).items()}
        for pid, (s, n, *seen) in data.get("partner", {}).items():
            i = row(pid)
            self.ps[i], self.pn[i] = s, n
            self.seen[i] = seen[0] if seen else 0.0
        for k, per in data.get("cell", {}).items():
            for pid, (s, n) in per.items():
                i = row(pid)
                r = self._row_of(k)
                self.cs[r, i], self.cn[r, i] = s, n


def _num(x: float) -> float | int:
    """A count for JSON: whole when it is (forgetting makes fractions; JSON keeps them exactly)."""
    x = float(x)
    return int(x) if x.is_integer() else x


def _vlogit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    logits: np.ndarray = np.log(p / (1 - p))
    return logits


class _Logistic:
    """Conversion log-odds as a sum, fitted to every converted or lost lead: effects every
    partner shares (the lead's industry, products, size and source; the partner's tier;
    whether its Account lists the lead's industry and products) plus the partner's own level
    and its own deviation for each industry, product and size band, each with a Gaussian
    prior (level sd `SD_LEVEL`, deviations `SD_DEV`). Where the counts judge a segment cell
    by its few outcomes alone, this judges it with everything else the partner did: it
    estimates better (bench/quality.py, seed 1, second half of the run: its estimates for
    the partners offered correlate 0.82 with their true chances, the counts' 0.56). MAP by Newton in blocks (the shared effects, then every partner's at once),
    outcomes weighted by age (the half-life), steps capped (a fresh column can overshoot);
    refitted when `REFIT_DAYS` of outcomes have come in, from where the last fit stood."""

    SD_LEVEL, SD_DEV, SD_SHARED = 1.0, 0.7, 1.0
    REFIT_DAYS = 2.0
    OWN = ("industry=", "product=", "size=")  # what a partner's own deviations are kept for

    def __init__(self, half_life: float | None, priors: dict[str, float] | None = None):
        self.half_life = half_life
        self.priors = dict(priors or {})  # shared effect → its prior mean (log-odds), else 0
        self.cols: dict[str, int] = {}  # segment key → column (0: the partner's level / the intercept)
        self.own: list[bool] = [True]  # per column: does the partner have its own deviation there
        self.obs: list[tuple[int, tuple[tuple[int, float], ...], int, float]] = []  # row, columns, y, day
        self.theta = np.zeros(1)  # shared effects
        self.beta = np.zeros((0, 1))  # per partner row: level and deviations
        self.cov: np.ndarray = np.zeros((0, 1, 1))  # per partner row: the Laplace covariance of beta
        self.fitted_at: float | None = None
        self.latest = 0.0

    def _columns(self, keys: Iterable[str], grow: bool) -> tuple[tuple[int, float], ...]:
        keys = [k for k in keys if not k.startswith("country=")]  # the partner covers it; says nothing of fit
        products = sum(1 for k in keys if k.startswith("product="))
        out = []
        for k in keys:
            c = self.cols.get(k)
            if c is None:
                if not grow:
                    continue
                c = self.cols[k] = len(self.own)
                self.own.append(k.startswith(self.OWN))
            out.append((c, 1 / products if k.startswith("product=") else 1.0))
        return tuple(out)

    def add(self, row: int, keys: Iterable[str], y: int, day: float) -> None:
        self.obs.append((row, self._columns(keys, True), y, day))
        self.latest = max(self.latest, day)

    def stale(self) -> bool:
        return bool(self.obs) and (self.fitted_at is None or self.latest - self.fitted_at >= self.REFIT_DAYS)

    def fit(self, partners: int) -> None:
        day = self.latest
        if self.half_life:  # outcomes faded to nothing are dropped
            self.obs = [o for o in self.obs if day - o[3] < 20 * self.half_life]
        n, k = len(self.obs), len(self.own)
        x = np.zeros((n, k))
        x[:, 0] = 1.0
        row = np.empty(n, dtype=np.intp)
        y, d = np.empty(n), np.empty(n)
        for j, (r, cols, yy, dd) in enumerate(self.obs):
            for c, v in cols:
                x[j, c] = v
            row[j], y[j], d[j] = r, yy, dd
        w: np.ndarray = np.power(0.5, (day - d) / self.half_life) if self.half_life else np.ones(n)
        own = np.array(self.own)
        kp = int(own.sum())
        xp = x[:, own]  # the partner block: level + its own deviations
        theta = np.zeros(k)
        theta[: len(self.theta)] = self.theta
        beta = np.zeros((max(partners, len(self.beta)), kp))
        beta[: self.beta.shape[0], : self.beta.shape[1]] = self.beta
        prior_s = np.full(k, 1 / self.SD_SHARED ** 2)
        prior_s[0] = 1e-4  # the intercept: free
        prior_m = np.zeros(k)
        for key, mean in self.priors.items():
            if key in self.cols and not self.own[self.cols[key]]:
                prior_m[self.cols[key]] = mean
        prior_p = np.full(kp, 1 / self.SD_DEV ** 2)
        prior_p[0] = 1 / self.SD_LEVEL ** 2
        # each partner's outcomes side by side, padded: every partner's Newton step at once
        count = np.bincount(row, minlength=len(beta))
        order = np.argsort(row, kind="stable")
        slot = np.empty(n, dtype=np.intp)
        slot[order] = np.arange(n) - np.repeat(np.cumsum(count) - count, count)
        xb = np.zeros((len(beta), max(int(count.max()), 1), kp))
        xb[row, slot] = xp
        yb, wb = np.zeros(xb.shape[:2]), np.zeros(xb.shape[:2])
        yb[row, slot], wb[row, slot] = y, w
        hp = np.zeros((len(beta), kp, kp))
        # two rounds of the blocks a refit, each starting where the last fit stood a couple of days'
        # outcomes ago (to convergence first, then three rounds: no better — 6,356 conversions
        # instead of 6,436 on bench/quality.py seed 1 — and 66 CPU seconds a market run, not 49)
        for _ in range(2):
            before = beta.copy(), theta.copy()
            own_part = np.einsum("nk,nk->n", xp, beta[row])
            for _ in range(2):
                p = _vsigmoid(x @ theta + own_part)
                g = x.T @ (w * (y - p)) - prior_s * (theta - prior_m)
                h = (x * (w * p * (1 - p))[:, None]).T @ x + np.diag(prior_s)
                theta = theta + np.clip(np.linalg.solve(h, g), -1, 1)
            shared = np.zeros(xb.shape[:2])
            shared[row, slot] = x @ theta
            for _ in range(2):
                p = _vsigmoid(np.einsum("pnk,pk->pn", xb, beta) + shared)
                g = np.einsum("pnk,pn->pk", xb, wb * (yb - p)) - prior_p * beta
                hp = np.einsum("pnk,pn,pnl->pkl", xb, wb * p * (1 - p), xb) + np.diag(prior_p)
                beta = beta + np.clip(np.linalg.solve(hp, g[:, :, None])[:, :, 0], -1, 1)
            if max(np.abs(beta - before[0]).max(), np.abs(theta - before[1]).max()) < 1e-4:
                break
        self.theta, self.beta, self.cov = theta, beta, np.linalg.inv(hp)
        self.fitted_at = day

    def predict(self, rows: np.ndarray, keys: tuple[str, ...],
                shared_keys: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """(chance to convert, its sd in log-odds) per partner row for a lead of these segment
        keys; `shared_keys` per partner: its tier and claims."""
        k = len(self.theta)
        own = np.array(self.own[:k])
        lead = np.zeros(k)
        lead[0] = 1.0
        for c, w in self._columns(keys, False):
            if c < k:
                lead[c] = w
        eta = np.full(len(rows), float(lead @ self.theta))
        for j, extra in enumerate(shared_keys):
            eta[j] += sum(self.theta[c] for c, _ in self._columns(extra, False) if c < k)
        xp = lead[own]
        known = rows < len(self.beta)
        r = np.where(known, rows, 0)
        eta = eta + np.where(known, self.beta[r] @ xp, 0.0)
        var = np.where(known, np.einsum("k,pkl,l->p", xp, self.cov[r], xp),
                       self.SD_LEVEL ** 2 + self.SD_DEV ** 2 * float(xp[1:] @ xp[1:]))
        return _vsigmoid(eta), np.sqrt(var)

    def to_dict(self, ids: list[str]) -> list[list[Any]]:
        names = {c: key for key, c in self.cols.items()}
        return [[ids[r], [names[c] for c, _ in cols], y, day] for r, cols, y, day in self.obs]

    def load(self, data: list[list[Any]], row: Any) -> None:
        for pid, keys, y, day in data:
            self.add(row(pid), keys, int(y), float(day))


def _vsigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1 / (1 + np.exp(-np.clip(x, -30, 30)))
    return out


@dataclass(frozen=True, slots=True)
class Estimate:
    """What the learner believes about one partner for one lead."""

    chance: float  # accept × convert
    sd: float  # its uncertainty (standard deviation)
    accept: float
    convert: float
    evidence: int  # outcomes behind it (offers settled + accepted leads closed)

    def text(self) -> str:
        return (f"est {self.chance:.1%} ± {self.sd:.1%} (accept {self.accept:.0%} × convert {self.convert:.0%}, "
                f"{self.evidence} outcomes)")


def tuning(settings: Any) -> dict[str, Any]:
    """The rule book's [settings] a Predictor takes (fairness_floor, accept_weight, the
    answers' and conversions' half-lives, claim_prior, capacity_price)."""
    return {"floor": settings.fairness_floor, "accept_weight": settings.accept_weight,
            "half_life_days": settings.answers_half_life_days,
            "convert_half_life_days": settings.conversions_half_life_days,
            "claim_prior": settings.claim_prior, "capacity_price": settings.capacity_price}


class Predictor:
    def __init__(self, *, seed: int = 0, floor: float = 0.6, prior_strength: float = 4.0,
                 cell_strength: float = 4.0, hard_debt: float = 3.0, debt_weight: float = 0.5,
                 explore: float = 0.0, half_life_days: float | None = 60.0, capacity_price: float = 0.7,
                 convert_half_life_days: float | None = 150.0, accept_weight: float = 0.5, claim_prior: float = 0.4):
        if not 0 <= floor <= 1:
            raise ValueError(f"floor={floor}: the share of a fair share every partner is owed must be between 0 and 1")
        if not 0 <= accept_weight <= 1:
            raise ValueError(f"accept_weight={accept_weight}: the weight of the chance to accept in the choice must be "
                             "between 0 (ignored) and 1 (accept × convert)")
        self.seed = seed
        self.floor = floor
        self.prior_strength = prior_strength
        self.cell_strength = cell_strength
        self.hard_debt = hard_debt
        self.debt_weight = debt_weight
        self.half_life_days = half_life_days  # forget old outcomes (a market that drifts); None: keep all
        self.explore = explore  # scale of the draws' spread: 1 = Thompson sampling, 0 = always the best estimate
        # what a partner's last free places cost: at its cap a lead must look this share of the
        # best one's chance better on it than on the others for the partner to be worth offering it
        self.capacity_price = capacity_price
        # a declined offer goes to the next choice (up to max_attempts), so choosing weighs the
        # chance to accept as accept ** accept_weight: 1 picks by accept × convert, 0 by convert
        # alone (a partner at its "no capacity" mark keeps its whole discount either way)
        self.accept_weight = accept_weight
        self.accept = _Head("accept", 0.6)
        self.convert = _Head("convert", 0.2)
        # conversions come one per accepted lead, weeks late: they fade slower than answers
        self.convert_half_life_days = convert_half_life_days
        self.logistic = _Logistic(convert_half_life_days)
        # a partner's Account listing the lead's industry: assumed worth claim_prior log-odds
        # of converting until outcomes say what claims mean in this org (pooled over partners)
        self._set_claim_prior(claim_prior)
        self.rows: dict[str, int] = {}  # partner id → its row in the heads' arrays
        self.ids: list[str] = [""]  # row 0: a partner nothing is known of (always zero counts)
        self.accept.grow(1)
        self.convert.grow(1)
        self.tiers: dict[str, str] = {}  # partner → tier, as last seen
        self.claims: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # partner → (industries, products)
        self.fair: dict[str, dict[str, float]] = {}  # rule → partner → leads it could have taken, each 1/n
        self.served: dict[str, dict[str, int]] = {}  # rule → partner → leads offered to it
        # "no capacity" declines: the open load at which the partner said so; it gets leads again
        # below that load, and the mark moves up when it accepts at or above it
        self.capacity: dict[str, int] = {}
        self.ratings: tuple[list[float], dict[str, list[float]]] = ([0.0, 0], {})  # (all, per segment key): [sum, n]
        self._pending: dict[tuple[str, int], tuple[str, tuple[str, ...], tuple[int, ...]]] = {}
        self._load_at_offer: dict[tuple[str, str], int] = {}

    def _set_claim_prior(self, claim_prior: float) -> None:
        self.claim_prior = claim_prior
        self.convert.priors = {CLAIMS_INDUSTRY: claim_prior}
        self.logistic.priors = {CLAIMS_INDUSTRY: claim_prior}

    def _row(self, partner_id: str) -> int:
        i = self.rows.get(partner_id)
        if i is None:
            i = self.rows[partner_id] = len(self.ids)
            self.ids.append(partner_id)
            self.accept.grow(i + 1)
            self.convert.grow(i + 1)
        return i

    # ---------------------------------------------------------------- learning
    def observe(self, event: OutcomeEvent, partner: Partner | None = None) -> None:
        """Learn from one outcome. Only accepted/rejected/lapsed and converted/lost teach;
        the lead's segment comes from `event.lead`; the partner's tier and claimed industries
        and products from `partner` (its Account as synced), else as last given."""
        if partner is not None:
            tier = getattr(partner.tier, "value", partner.tier) or ""
            self.tiers[event.partner_id] = tier
            self.claims[event.partner_id] = (partner.industries, partner.products)
        if event.kind in _ACCEPT_KINDS:
            self._capacity_feedback(event)
            head, y = self.accept, _ACCEPT_KINDS[event.kind]
        elif event.kind in _CONVERT_KINDS:
            head, y = self.convert, _CONVERT_KINDS[event.kind]
        else:
            return
        keys = segment_of(event.lead) if event.lead is not None else ()
        claimed = self.claims.get(event.partner_id)
        if claimed is not None and event.lead is not None:
            keys += claim_keys(event.lead, *claimed)
        tier = self.tiers.get(event.partner_id, "")
        head.add(self._row(event.partner_id), tier, keys, y, event.at.timestamp() / 86400, self.half_life_days)
        if head is self.convert and event.lead is not None:
            self.logistic.add(self._row(event.partner_id), keys + (f"tier={tier}",), y, event.at.timestamp() / 86400)

    def _capacity_feedback(self, event: OutcomeEvent) -> None:
        load = self._load_at_offer.pop((event.lead_id or "", event.partner_id), None)
        if load is None:
            return
        pid = event.partner_id
        if event.kind == "rejected" and "capacity" in (event.reason or "").lower():
            self.capacity[pid] = max(1, min(load, self.capacity.get(pid, load)))
        elif event.kind == "accepted" and pid in self.capacity and load >= self.capacity[pid]:
            self.capacity[pid] = load + 1  # it took one more than we thought it could

    def _estimates(self, partner_ids: list[str], tiers: list[str], lead: Lead,
                   claimed: list[tuple[frozenset[str], frozenset[str]]]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rows = np.array([self.rows.get(pid, 0) for pid in partner_ids], dtype=np.intp)
        keys = segment_of(lead)
        claims = [claim_keys(lead, *c) for c in claimed]
        a, na = self.accept.estimate(rows, tiers, keys, self.prior_strength, self.cell_strength, claims)
        c, nc = self.convert.estimate(rows, tiers, keys, self.prior_strength, self.cell_strength, claims)
        # variance of a product of independent Betas
        va, vc = a * (1 - a) / (na + 1), c * (1 - c) / (nc + 1)
        if self.logistic.obs:
            # once a lead has closed, the chance to convert is the logistic model's (the counts
            # still give the chance to accept, and the evidence); its spread by the delta method
            if self.logistic.stale():
                self.logistic.fit(len(self.ids))
            c, spread = self.logistic.predict(rows, keys, [ck + (f"tier={t}",) for ck, t in zip(claims, tiers)])
            vc = (c * (1 - c) * spread) ** 2
        sd = np.sqrt(np.maximum((va + a * a) * (vc + c * c) - (a * c) ** 2, 0.0))
        return a, c, a * c, sd, na + nc - 2 * self.prior_strength

    def tune(self, settings: Any) -> None:
        """Take the rule book's settings (a reloaded book may change them); what was
        learnt stays."""
        values = tuning(settings)
        claim_prior = values.pop("claim_prior")
        for name, value in values.items():
            setattr(self, name, value)
        if self.logistic.half_life != self.convert_half_life_days:
            self.logistic.half_life = self.convert_half_life_days
            self.logistic.fitted_at = None  # refitted with the new weights when next asked
        if self.claim_prior != claim_prior:
            self._set_claim_prior(claim_prior)
            self.logistic.fitted_at = None  # refitted toward the new prior when next asked

    def estimate(self, partner: Partner, lead: Lead) -> Estimate:
        """What the learner believes about offering `lead` to this partner."""
        a, c, m, sd, ev = self._estimates([partner.id], [getattr(partner.tier, "value", partner.tier) or ""], lead,
                                          [(partner.industries, partner.products)])
        return Estimate(float(m[0]), float(sd[0]), float(a[0]), float(c[0]), int(ev[0]))

    def score(self, lead: Lead) -> float:
        """Lead potential, 0–1: the chance an average partner converts this lead once it
        accepts it (pooled over every partner's outcomes, by the lead's segment), moved by
        what partners said of leads like it (`rate`). Usable in rules as `score`
        (`score >= 0.6`) once jobs puts it in `lead.extra["score"]`."""
        head = self.convert
        overall = head.overall()
        x = _logit(overall)
        keys = segment_of(lead)
        products = sum(1 for k in keys if k.startswith("product="))
        for k in keys:
            x += head.lift(k, overall) / (products if k.startswith("product=") else 1)
        return round(_sigmoid(x + self.rating_lift(keys)), 4)

    def rate(self, rated: Iterable[tuple[Lead, int]]) -> None:
        """Partners' ratings of leads they got (1 poor … 5 excellent), all of them at once:
        they replace the ones given before (a rating can be changed; the caller reads the
        whole window each time)."""
        total = [0.0, 0]
        by_key: dict[str, list[float]] = {}
        for lead, rating in rated:
            total[0] += rating
            total[1] += 1
            for k in segment_of(lead):
                s = by_key.setdefault(k, [0.0, 0])
                s[0] += rating
                s[1] += 1
        self.ratings = (total, by_key)

    def rating_lift(self, keys: tuple[str, ...]) -> float:
        """Log-odds the partners' ratings add to a lead of these segment keys: for each key,
        how far its leads' average rating (shrunk toward everyone's, worth RATING_STRENGTH
        ratings) lies from the average over all rated leads, RATING_WEIGHT per point.
        Rated like everyone's: no lift; no ratings: none either."""
        (s, n), by_key = self.ratings
        if not n:
            return 0.0
        mean = s / n
        products = sum(1 for k in keys if k.startswith("product="))
        x = 0.0
        for k in keys:
            ks, kn = by_key.get(k, (0.0, 0))
            if kn:
                shrunk = (ks + RATING_STRENGTH * mean) / (kn + RATING_STRENGTH)
                x += RATING_WEIGHT * (shrunk - mean) / (products if k.startswith("product=") else 1)
        return x

    # ---------------------------------------------------------------- choosing (called by the Router)
    def pick(self, router: Any, rule: Any, lead: Lead, eligible: int, state: Any, now: Any, trial: Any,
             attempt: int) -> tuple[int, str] | None:
        """(position, how) of the partner to offer, or None when every eligible one is capped."""
        idx = router.index
        partners = idx.partners
        cands: list[int] = []
        pids: list[str] = []
        loads: list[int] = []
        limits: list[float] = []
        # the caps as the rotation tests them (rules/caps.py): inline while today's counts are at hand
        caps = router.caps
        table, open_get, day_get, fast = caps.table, state.open_offers.get, caps.day_counts.get, now is caps.day_for
        for pos in idx.positions(eligible):
            pid, cap, daily = table[pos]
            load = open_get(pid, 0)
            if not (fast and (cap is None or load < cap) and (daily is None or day_get(pid, 0) < daily)):
                why = caps.blocked(pos, state, now)
                if why:
                    caps.exclude(trial, pos, why)
                    continue
            cands.append(pos)
            pids.append(pid)
            loads.append(load)
            limits.append(float(cap) if cap else math.inf)
        if not cands:
            return None
        tiers = [getattr(t, "value", t) or "" for t in (partners[pos].tier for pos in cands)]
        a, c, mean, sd, evidence = self._estimates(pids, tiers, lead,
                                                   [(partners[pos].industries, partners[pos].products) for pos in cands])
        full = np.array([load >= self.capacity.get(pid, 1 << 30) for pid, load in zip(pids, loads)])
        discount = np.where(full, _FULL_ACCEPT, 1.0)  # said "no capacity" at this load before
        # what the choice weighs: the chance to convert, and the chance to accept only in part
        # (the "no capacity" discount whole)
        worth = a ** self.accept_weight * c * discount
        if full.any():
            a = a * discount
            mean = a * c
        # one Beta per partner around its estimate, worth its evidence: Thompson sampling
        rng = np.random.default_rng((self.seed, zlib.crc32(f"{lead.id}|{rule.name}|{attempt}".encode())))
        worth = np.clip(worth, 1e-4, 1 - 1e-4)
        spread = np.maximum(sd * self.explore, 1e-4)
        strength = np.maximum(worth * (1 - worth) / spread ** 2 - 1, 1.0)
        draws = rng.beta(worth * strength, (1 - worth) * strength)
        best_draw = float(draws.max()) or 1.0
        fair = self.fair.get(rule.name, {})
        served = self.served.get(rule.name, {})
        owed = np.array([self.floor * fair.get(pid, 0.0) - served.get(pid, 0) for pid in pids])
        # capacity as a price: a partner's free places are scarce; spending them on a lead the
        # others convert nearly as well leaves none for the lead only it converts well
        limit = np.array([min(lim, self.capacity.get(pid, math.inf)) for pid, lim in zip(pids, limits)])
        use = np.minimum(np.array(loads) / np.maximum(limit, 1.0), 1.0)
        price = self.capacity_price * use ** 2
        value = draws / best_draw - price + self.debt_weight * np.maximum(owed, 0.0)
        if owed.max() >= self.hard_debt:
            i = int(np.argmax(np.where(owed >= self.hard_debt, owed, -np.inf)))
        else:
            i = int(np.argmax(value))  # ties: the first in id order
        pos = cands[i]
        order = [int(j) for j in np.argsort(-value, kind="stable")[:3]]
        if i not in order:
            order = [i] + order[:2]
        trial.scores = [{"partner_id": pids[j], "name": partners[cands[j]].name,
                         "estimate": round(float(mean[j]), 4), "uncertainty": round(float(sd[j]), 4),
                         "accept": round(float(a[j]), 3), "convert": round(float(c[j]), 3),
                         "outcomes": int(evidence[j]), "draw": round(float(draws[j]), 4),
                         "owed": round(float(owed[j]), 2), "load": loads[j],
                         "capacity_price": round(float(price[j]), 3)} for j in order]
        e = Estimate(float(mean[i]), float(sd[i]), float(a[i]), float(c[i]), int(evidence[i]))
        fit = draws / best_draw - price
        # with no exploration the "draw" is the worth itself: convert × accept ** accept_weight
        drew = "drew" if self.explore else "worth"
        weighed = "" if self.accept_weight == 1 else f" (convert × accept^{self.accept_weight:g})"
        if owed[i] >= self.hard_debt or (owed[i] > 0 and fit[i] < fit.max()):
            how = (f"fairness floor: owed {owed[i]:.1f} lead(s) of its {self.floor:.0%} share of fair "
                   f"({e.text()}; {drew} {draws[i]:.1%} vs best {best_draw:.1%})")
        else:
            how = f"predicted fit: {e.text()}; {drew} {draws[i]:.1%}{weighed}, best of {len(cands)}"
            if price[i] > 0:
                how += f"; capacity price {price[i]:.2f} (load {loads[i]} of {limit[i]:g})"
            top = int(np.argmax(draws))
            if top != i:
                # the reason goes on the Lead, which the chosen partner sees: the partner passed
                # over is named in the trace (`explain`), not there
                held = f"{drew} {draws[top]:.1%} but holds {loads[top]} of {limit[top]:g} open leads (price {price[top]:.2f})"
                how += f"; the best estimate {held}"
                trial.notes.append(f"passed over for capacity: {partners[cands[top]].name} {held}")
        self._pending[(lead.id, attempt)] = (rule.name, tuple(pids), tuple(loads))
        if len(self._pending) > _PENDING_MAX:
            for k in list(self._pending)[: _PENDING_MAX // 2]:
                del self._pending[k]
        return pos, how

    def record_offer(self, decision: Decision) -> None:
        """The decision was committed: the chosen partner was served, every partner that
        could have taken it earned its fair share (1 / how many could)."""
        pending = self._pending.pop((decision.lead_id, decision.attempt), None)
        if (pending is None or decision.kind is not DecisionKind.OFFER or decision.rule != pending[0]
                or decision.partner_id is None):
            return
        rule, could, loads = pending
        if decision.partner_id in could:
            self._load_at_offer[(decision.lead_id, decision.partner_id)] = loads[could.index(decision.partner_id)]
            if len(self._load_at_offer) > _PENDING_MAX:
                for k in list(self._load_at_offer)[: _PENDING_MAX // 2]:
                    del self._load_at_offer[k]
        fair = self.fair.setdefault(rule, {})
        share = 1 / len(could)
        for pid in could:
            fair[pid] = fair.get(pid, 0.0) + share
        served = self.served.setdefault(rule, {})
        served[decision.partner_id] = served.get(decision.partner_id, 0) + 1

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (jobs keeps it next to the routing state)."""
        return {"version": 1, "accept": self.accept.to_dict(self.ids), "convert": self.convert.to_dict(self.ids),
                "tiers": dict(self.tiers), "capacity": dict(self.capacity),
                "claims": {k: [sorted(i), sorted(pr)] for k, (i, pr) in self.claims.items()}, "fair": {r: dict(v) for r, v in self.fair.items()},
                "served": {r: dict(v) for r, v in self.served.items()},
                "ratings": {"total": list(self.ratings[0]), "key": {k: list(v) for k, v in self.ratings[1].items()}},
                "closed": self.logistic.to_dict(self.ids)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], **settings: Any) -> "Predictor":
        if data.get("version", 1) != 1:
            raise ValueError(f"predictive model version {data.get('version')!r} is newer than this leadrouter understands")
        p = cls(**settings)
        for head in ("accept", "convert"):
            getattr(p, head).load(data.get(head, {}), p._row)
        p.logistic.load(data.get("closed", []), p._row)  # refitted when first asked
        p.tiers = dict(data.get("tiers", {}))
        p.capacity = {k: int(v) for k, v in data.get("capacity", {}).items()}
        p.claims = {k: (frozenset(i), frozenset(pr)) for k, (i, pr) in data.get("claims", {}).items()}
        p.fair = {r: {k: float(v) for k, v in per.items()} for r, per in data.get("fair", {}).items()}
        p.served = {r: {k: int(n) for k, n in per.items()} for r, per in data.get("served", {}).items()}
        rated = data.get("ratings") or {}
        p.ratings = (list(rated.get("total", [0.0, 0])), {k: list(v) for k, v in rated.get("key", {}).items()})
        return p
