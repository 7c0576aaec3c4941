"""Open-offer and daily caps: whether a partner may take one more offer now, and if not, why.

A partner's own Capacity__c / Daily_Cap__c, else the rule file's max_open_offers /
max_offers_per_day. Today's offer counts are looked up once per decision, not once per
candidate; a strategy walking many candidates tests the caps inline against `table` and
`day_counts` while `now is day_for` (the counts at hand are today's), and asks `blocked`
for the words only when a partner is capped.

"Today" is the partner's own day when its Account names a time zone (Time_Zone__c, as for
its offer windows), else the org's (the rule file's `time_zone`): a Tokyo partner's
Daily_Cap__c turns at Tokyo midnight, not at the org's in Los Angeles.
"""
from __future__ import annotations

from datetime import datetime

from rules.book import Settings
from rules.explain import RuleTrial
from rules.index import PartnerIndex
from rules.state import RoutingState, day_key
from rules.windows import known_zone


class Caps:
    def __init__(self, index: PartnerIndex, settings: Settings) -> None:
        self.ids = index.ids
        # per position: (id, open-offer cap, daily cap), the settings' defaults filled in
        self.table: list[tuple[str, int | None, int | None]] = [
            (p.id, p.capacity if p.capacity is not None else settings.max_open_offers,
             p.daily_cap if p.daily_cap is not None else settings.max_offers_per_day) for p in index.partners]
        self.time_zone = settings.time_zone  # the org's: its day is the daily caps' day
        # partners whose own day is not the org's (a zone Python does not know: the org's day,
        # as its offer window falls back to the org's hours with a note)
        self.zones: dict[str, str] = {p.id: p.time_zone for p in index.partners
                                      if p.time_zone and p.time_zone != self.time_zone and known_zone(p.time_zone)}
        self.zone_names = frozenset(self.zones.values())
        self.token = object()  # marks the counts this Caps merged into a state (a copied state copies a token)
        self.day_for: datetime | None = None  # the `now` whose day `day_counts` holds
        self.day = ""
        self.differing: dict[str, str] = {}  # partners' zones whose date is not the org's at `day_for` → theirs
        self.day_counts: dict[str, int] = {}

    def remember_day(self, state: RoutingState, now: datetime) -> None:
        """Today's offer counts, looked up once per decision instead of once per candidate."""
        state.day_zone, state.day_zones = self.time_zone, self.zones
        if now is not self.day_for:
            self.day_for, self.day = now, day_key(now, self.time_zone)
            self.differing = {tz: d for tz in self.zone_names if (d := day_key(now, tz)) != self.day}
        if not self.differing:  # every partner's date is the org's: its counts are today's
            self.day_counts = state.daily.get(self.day) or {}
            return
        today = state.today
        if today is None or today[0] is not now or today[1] is not self.token:
            today = state.today = (now, self.token, self._merged(state))
        self.day_counts = today[2]

    def _merged(self, state: RoutingState) -> dict[str, int]:
        """Each partner's offers on its own today, in one dict (the inline tests read a dict)."""
        zones, differing = self.zones, self.differing
        out = {pid: n for pid, n in (state.daily.get(self.day) or {}).items() if zones.get(pid) not in differing}
        for tz, day in differing.items():
            counts = state.daily.get(day)
            if counts:
                out.update((pid, n) for pid, n in counts.items() if zones.get(pid) == tz)
        return out

    def blocked(self, pos: int, state: RoutingState, now: datetime) -> str | None:
        """Why the partner at `pos` may take no offer now, or None."""
        pid, cap, daily = self.table[pos]
        if cap is not None:  # this runs per candidate of every decision: kept inline
            n = state.open_offers.get(pid, 0)
            if n >= cap:
                return f"at capacity ({n}/{cap} open offers)"
        if daily is not None:
            n = state.today_count(pid, now) if now is not self.day_for else self.day_counts.get(pid, 0)
            if n >= daily:
                zone = self.zones.get(pid)  # its own day: say whose, or "today" reads as the org's
                return f"at daily cap ({n}/{daily} today{f' in {zone}' if zone else ''})"
        return None

    def exclude(self, trial: RuleTrial, pos: int, why: str) -> None:
        """Record in the trial that a capped partner was passed over (`why` from `blocked`)."""
        kind = "at capacity" if why.startswith("at capacity") else "at daily cap"
        trial.exclude(self.ids[pos], kind, why)

