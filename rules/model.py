"""The routing domain's nouns: lead, partner, rep, pool, deal registration, decision.

Plain slotted dataclasses: cheap to build by the hundred thousand (mappings compile
converters that fill them), hashable ids, no I/O. Geography is normalised before it
gets here: `country` is ISO 3166-1 alpha-2, `state` ISO 3166-2 (`US-CA`), postal codes
upper-case without spaces. Multi-valued attributes are frozensets of the org's picklist
values. Anything an org maps beyond these fields lands in `extra` and is usable in rule
expressions under its own name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

EMPTY: frozenset[str] = frozenset()


class Tier(str, Enum):
    REGISTERED = "Registered"
    SILVER = "Silver"
    GOLD = "Gold"
    PLATINUM = "Platinum"


class Role(str, Enum):
    RESELLER = "Reseller"
    DISTRIBUTOR = "Distributor"


class RoutingStatus(str, Enum):
    """Values of Lead.Routing_Status__c."""

    PENDING = "Pending"
    OFFERED = "Offered"
    ACCEPTED = "Accepted"
    ESCALATED = "Escalated"
    FALLBACK = "Fallback"  # waiting in a rule's fallback queue: nobody matched
    UNROUTABLE = "Unroutable"
    RELEASED = "Released"  # a person took the lead over; the connector keeps its hands off
    CLOSED = "Closed"


class Response(str, Enum):
    """Values of Lead.Partner_Response__c, set by the partner rep in the portal."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


@dataclass(slots=True)
class Lead:
    id: str
    company: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    email_domain: str | None = None
    website: str | None = None
    country: str | None = None
    state: str | None = None
    postal_code: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    industry: str | None = None
    products: frozenset[str] = EMPTY
    source: str | None = None
    rating: str | None = None
    status: str | None = None
    amount: float | None = None
    close_date: date | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    language: str | None = None
    owner_id: str | None = None
    partner_id: str | None = None
    created: datetime | None = None
    modstamp: datetime | None = None
    # lifecycle as the org sees it (read back every poll)
    routing_status: str | None = None
    response: str | None = None
    rejection_reason: str | None = None
    do_not_route: bool = False
    converted: bool = False
    deleted: bool = False
    attempt: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Rep:
    id: str
    partner_id: str
    name: str | None = None
    email: str | None = None
    active: bool = True
    time_zone: str | None = None
    language: str | None = None


@dataclass(slots=True)
class Partner:
    id: str
    name: str
    tier: str | None = None
    programs: frozenset[str] = EMPTY
    role: str = Role.RESELLER.value
    parent_id: str | None = None
    certifications: frozenset[str] = EMPTY
    industries: frozenset[str] = EMPTY
    products: frozenset[str] = EMPTY
    languages: frozenset[str] = EMPTY
    coverage: tuple[str, ...] = ()
    country: str | None = None
    state: str | None = None
    postal_code: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    capacity: int | None = None
    daily_cap: int | None = None
    weight: float = 1.0
    paused: bool = False
    radius_km: float | None = None
    enterprise_team: bool = False
    time_zone: str | None = None
    # the days it works (Account.Working_Days__c: "Sunday", "Monday", …); none: the org's `weekdays`
    working_days: frozenset[str] = EMPTY
    modstamp: datetime | None = None
    reps: tuple[Rep, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def active_reps(self) -> tuple[Rep, ...]:
        return tuple(r for r in self.reps if r.active)


@dataclass(slots=True)
class Pool:
    """A queue several partners' reps can pull leads from."""

    id: str
    name: str
    developer_name: str | None = None
    member_rep_ids: frozenset[str] = EMPTY
    member_partner_ids: frozenset[str] = EMPTY


@dataclass(slots=True)
class DealRegistration:
    id: str
    partner_id: str
    status: str | None = None
    expires: date | None = None
    company: str | None = None
    email_domain: str | None = None
    name: str | None = None


class DecisionKind(str, Enum):
    OFFER = "offer"  # pushed to one partner (and a rep inside it)
    POOL = "pool"  # put into a queue several partners pull from
    ESCALATE = "escalate"  # to the escalation queue, with the reason
    FALLBACK = "fallback"  # to a named fallback queue
    UNROUTABLE = "unroutable"  # nothing to do automatically; reason says why


@dataclass(slots=True)
class Decision:
    lead_id: str
    kind: DecisionKind
    reason: str  # short form, fits Lead.Routing_Reason__c (255)
    rule: str | None = None
    ruleset: str | None = None
    partner_id: str | None = None
    rep_id: str | None = None
    queue_id: str | None = None  # pool, escalation or fallback queue (00G…)
    offered_at: datetime | None = None
    deadline: datetime | None = None
    attempt: int = 1
    explanation: dict[str, Any] = field(default_factory=dict)  # full form, for the audit log
    # the calendar a working-hours window was counted in, as promised at the offer ("Asia/Dubai;
    # Sun Mon Tue Wed Thu; 09:00-17:00", rules.windows.calendar_text): its reminder counts back in
    # it even if the partner's zone or week changes while the offer is open. None: wall-clock hours
    calendar: str | None = None
