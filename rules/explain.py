"""Why a decision came out as it did: a full trace for the audit log, a short line for the Lead."""
from __future__ import annotations

from typing import AbstractSet, Any, Iterable, Sequence

REASON_MAX = 255  # Lead.Routing_Reason__c
EXCLUSIONS_LISTED = 25  # per rule in the full form; the rest are counted by reason


class RuleTrial:
    """What one rule made of one lead. A plain slotted class: hundreds of thousands are
    made per run, and dataclass field factories cost more than the rest of a trial."""

    __slots__ = ("rule", "ruleset", "outcome", "candidates", "eligible", "excluded", "excluded_counts", "scores",
                 "notes", "applied", "_counted", "any_distance")

    def __init__(self, rule: str, ruleset: str, outcome: str = "", *, candidates: int = 0, eligible: int = 0,
                 applied: bool = False):
        self.rule = rule
        self.ruleset = ruleset
        self.outcome = outcome  # "condition not met" | "no partner matches" | "nobody eligible" | "chosen" | …
        self.candidates = candidates
        self.eligible = eligible
        self.excluded: dict[str, str] = {}  # partner id → why (first EXCLUSIONS_LISTED)
        self.excluded_counts: dict[str, int] = {}  # why (kind) → how many
        self.scores: list[dict[str, Any]] = []  # top candidates, best first
        self.notes: list[str] = []
        self.applied = applied  # its condition held (and the lead lies in its territories)
        self.any_distance = False  # `eligible` counted before a proximity rule's radius (read lazily)
        self._counted: set[str] = set()

    def __repr__(self) -> str:
        return f"RuleTrial({self.rule!r}, {self.outcome!r}, eligible={self.eligible})"

    def list_excluded(self, positions: Iterable[int], ids: Sequence[str], reasons: Sequence[str]) -> None:
        """Name the partners at `positions` among the excluded, each with its reason; the
        caller counts their kinds in `excluded_counts` (by bit arithmetic over thousands of
        them, not one by one)."""
        excluded, counted = self.excluded, self._counted
        for pos in positions:
            excluded[ids[pos]] = reasons[pos]
            counted.add(ids[pos])

    def list_named(self, named: Iterable[tuple[str, str]], ids: AbstractSet[str]) -> None:
        """`list_excluded` given the (partner id, reason) pairs and their ids."""
        self.excluded.update(named)
        self._counted |= ids

    def exclude(self, partner_id: str, kind: str, detail: str | None = None) -> None:
        if partner_id in self._counted:
            return
        self._counted.add(partner_id)
        self.excluded_counts[kind] = self.excluded_counts.get(kind, 0) + 1
        if len(self.excluded) < EXCLUSIONS_LISTED and partner_id not in self.excluded:
            self.excluded[partner_id] = detail or kind

    def exclude_each(self, passed: Iterable[tuple[str, str, str]]) -> None:
        """`exclude(partner_id, kind, detail)` for each, in order (a walk replayed)."""
        counted, counts, excluded = self._counted, self.excluded_counts, self.excluded
        for pid, kind, detail in passed:
            if pid in counted:
                continue
            counted.add(pid)
            counts[kind] = counts.get(kind, 0) + 1
            if len(excluded) < EXCLUSIONS_LISTED and pid not in excluded:
                excluded[pid] = detail

    def exclude_walk(self, passed: Sequence[tuple[str, str, str]], members: AbstractSet[str],
                     kinds: Iterable[tuple[str, int]], named: Sequence[tuple[str, str]]) -> None:
        """`exclude_each(passed)`, given the set of its partners, how many of each kind (in
        the order first met) and each (partner id, words) in order: when none of them is
        counted yet, as it is for a walk replayed in a fresh trial, without a step per partner."""
        counted = self._counted
        if not counted.isdisjoint(members):
            self.exclude_each(passed)
            return
        counted |= members
        counts = self.excluded_counts
        for kind, n in kinds:
            counts[kind] = counts.get(kind, 0) + n
        excluded = self.excluded
        room = EXCLUSIONS_LISTED - len(excluded)
        if room > 0:  # none of them is named yet: every named partner is counted
            excluded.update(named[:room])

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded_counts.values())

    def to_dict(self) -> dict[str, Any]:
        if not self.applied:
            return {"rule": self.rule, "ruleset": self.ruleset, "outcome": self.outcome, "applied": False}
        excluded, counts = self.excluded, self.excluded_counts
        return {
            "rule": self.rule, "ruleset": self.ruleset, "outcome": self.outcome, "applied": True,
            "candidates": self.candidates, "eligible": self.eligible,
            "excluded": dict(sorted(excluded.items())) if len(excluded) > 1 else dict(excluded),
            "excluded_counts": dict(sorted(counts.items())) if len(counts) > 1 else dict(counts),
            "scores": self.scores, "notes": list(self.notes),
        }


class Explanation:
    """The trace of one decision; `to_dict()` is what `Decision.explanation` holds."""

    __slots__ = ("lead_id", "kind", "summary", "gate", "deal_registration", "ruleset", "rulesets_tried", "trials",
                 "chosen", "rotation", "notes")

    def __init__(self, lead_id: str):
        self.lead_id = lead_id
        self.kind = ""
        self.summary = ""
        self.gate: list[str] = []  # failed checks' reasons
        self.deal_registration: dict[str, Any] | None = None
        self.ruleset: str | None = None
        self.rulesets_tried: list[str] = []
        self.trials: list[RuleTrial] = []
        self.chosen: dict[str, Any] | None = None
        self.rotation: dict[str, str] = {}  # rotation key → partner chosen (applied by record_offer)
        self.notes: list[str] = []

    def __repr__(self) -> str:
        return f"Explanation({self.lead_id!r}, {self.kind!r}, {self.summary!r})"

    def short(self) -> str:
        return clip(self.summary)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id, "kind": self.kind, "summary": self.summary, "gate": list(self.gate),
            "deal_registration": self.deal_registration, "ruleset": self.ruleset,
            "rulesets_tried": list(self.rulesets_tried),
            # a rule passed over is most of the trials: its four keys built here, without a call
            "rules": [t.to_dict() if t.applied else {"rule": t.rule, "ruleset": t.ruleset, "outcome": t.outcome,
                                                      "applied": False} for t in self.trials],
            "chosen": self.chosen, "rotation": dict(sorted(self.rotation.items())) if len(self.rotation) > 1
            else dict(self.rotation), "notes": list(self.notes),
        }

    def text(self) -> str:
        """The full form, readable in a terminal (`leadrouter explain`)."""
        out = [f"lead {self.lead_id}: {self.kind} — {self.summary}"]
        for reason in self.gate:
            out.append(f"  gate: {reason}")
        if self.deal_registration:
            out.append(f"  deal registration: {self.deal_registration}")
        if self.rulesets_tried:
            out.append(f"  rule set: {self.ruleset or '(none matched)'} (tried {', '.join(self.rulesets_tried)})")
        for t in self.trials:
            counts = f"; {t.candidates} candidates, {t.eligible} eligible" if t.applied else ""
            out.append(f"  rule {t.rule!r}: {t.outcome}{counts}")
            for kind, n in sorted(t.excluded_counts.items()):
                out.append(f"    excluded {n} × {kind}")
            for pid, why in sorted(t.excluded.items()):
                out.append(f"      {pid}: {why}")
            for s in t.scores:
                out.append(f"    score {s}")
            for note in t.notes:
                out.append(f"    note: {note}")
        for note in self.notes:
            out.append(f"  note: {note}")
        return "\n".join(out)


def clip(text: str, limit: int = REASON_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ------------------------------------------------------------------ why nobody
DROPPED_VALUES = "dropped_values"  # Lead.extra key the mappings fill: attribute → "Label: 'value' is not …"


def dropped_value_reason(reason: str, symbols: frozenset[str], extra: dict[str, Any] | None) -> str:
    """A gate check's reason, or — when its attribute had a value the mappings could not
    read — that value: "Country: 'Atlantis' is not a recognised country", not "missing"."""
    dropped = extra.get(DROPPED_VALUES) if extra else None
    if dropped:
        for name in sorted(symbols):
            if name in dropped:
                return str(dropped[name])
    return reason


def no_country(lead_extra: dict[str, Any] | None) -> str:
    """Why a geography rule cannot place the lead: no country, or the one typed that the
    mappings could not read ("Country: 'Narnia' is not a recognised country"), as the Lead
    shows it to the admin who must fix it."""
    return dropped_value_reason("lead has no country", frozenset({"country"}), lead_extra)


def nobody_left(last: str, before: int, so_far: str) -> str:
    """A rule's outcome when its criteria left no partner: the criterion that removed the
    last ones, and how many the ones before it had left ("3 cover APAC but not 'Security Suite'")."""
    if last.startswith("no partner") or not before:
        return last if last.startswith("no partner") else f"no partner: {last}"
    if so_far == "match":
        who = "1 partner qualifies" if before == 1 else f"{before} partners qualify"
    else:
        verb, _, rest = so_far.partition(" ")
        who = f"1 {verb}s {rest}" if before == 1 else f"{before} {so_far}"
    return f"{who} but {last}"


def nobody_eligible(trial: RuleTrial) -> str:
    """Partners matched, but each was out for its own reason: say how many for which."""
    out = ", ".join(f"{n} {kind}" for kind, n in sorted(trial.excluded_counts.items(), key=lambda kv: -kv[1]))
    n = trial.candidates
    return f"{n} partner{'s' if n != 1 else ''} matched but none is eligible" + (f" ({out})" if out else "")


def of_partner(why: str) -> str:
    """Why a partner is passed over, as said after its name: "is paused", "is at capacity
    (…)", "has no active rep", "already rejected this lead"."""
    if why.startswith("no "):
        return f"has {why}"
    if why.startswith("already "):
        return why
    return f"is {why}"


def quoted(value: object) -> str:
    """A value or a name as a reason quotes it, in double quotes as written: Python's repr
    ('Security Suite', "Women's Health", frozenset(...)) is not how an admin reads a value."""
    return f'"{value}"'


def why_nobody(trials: list[RuleTrial], ruleset: str) -> tuple[str | None, str]:
    """(the rule that came last — the rule set's `otherwise` when no rule applied —, why no
    rule of `ruleset` found a partner): each applied rule's own outcome, so the reason names
    the criterion and the lead's value."""
    mine = [t for t in trials if t.ruleset == ruleset]
    applied = [t for t in mine if t.applied or t.outcome.startswith("lead ")]
    if not applied:
        # no rule decided: Routing_Rule__c names the rule set's `otherwise`, not a rule the lead failed
        return f"{ruleset} (otherwise)", f"no rule of {quoted(ruleset)} applies to this lead (every rule's condition is unmet)"
    seen: list[str] = []
    for t in applied:
        if t.outcome and t.outcome not in seen:
            seen.append(t.outcome)
    if not seen:
        return applied[-1].rule, f"no rule of {quoted(ruleset)} found a partner"
    return applied[-1].rule, f"{'; '.join(seen)} (rule set {quoted(ruleset)})"
