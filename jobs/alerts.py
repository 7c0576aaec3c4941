"""The offer alert: the rep a lead was just offered to hears of it, once, in their language.

Sent only for writes Salesforce confirmed (an offer that never reached the org must not
be announced), through Salesforce's own standard actions: `emailSimple` by default —
it needs nothing set up in the org — or the bell notification (`custom`) when the
org has a Custom Notification Type. `off` leaves it to a Flow on Routing_Status__c.

Budget: one alert per offer costs an action input, and an action call carries 200.
A run that offers more than that (a backlog, a first import) folds each rep's offers
into one message listing them, so 10,000 offers to 180 reps are one call, not fifty.

Pool offers ([notifications] pool_alert = "members"; off when unset): the reps in the pool's
queue of each member the lead is for hear of it as a pool lead the first partner to accept
gets — not a member barred from it, at its capacity or daily cap, or not admitted by the
pool's rule. Claimed, batched and folded as pushed offers are.

Past the email limit (SINGLE_EMAIL_LIMIT_EXCEEDED) the refused alerts go by the bell where the
connector has a Custom Notification Type (jobs/email_limit.py); each such lead gets its Task
whatever alert_tasks says, and the run logs and counts them.

At most once: the alert goes out after the write is confirmed — by Salesforce's answer, or
by the outbox finding the write landed when the answer was lost or a crash came first (no
alert went for it then); a crash between confirmation and alert costs the alert, never a
second one (the reminder before the deadline still comes). Each offer's alert is claimed
in the state (`offers.alerted_at`) before it goes, so two confirmations of one write (an
active/standby pair, a deposed leader's late answer) announce it once. An offer over by
then is not announced. An action call whose answer is lost is not sent again (connector/notify.py):
its leads' Task says the alert may not have gone out.

On the Lead: an alert that did not go out (refused, or no active user to tell) leaves a
completed Task "Offer alert not sent" with Salesforce's reason; with [notifications]
alert_tasks = "all" every alert does ("Offer alert sent"), at one call per 200 offers.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import select

from connector.notify import INPUTS_PER_CALL, OUTCOME_UNKNOWN, Notification, NotifyResult
from jobs import activity, email_limit
from jobs.printable import in_sentence
from jobs.state import offers as of
from jobs.state import schema
from mappings.geo import place_name
from rules.windows import zone as time_zone

TASK_SETTING = "alert_tasks"  # [notifications]: a Task on the Lead for each alert (jobs/activity.py)
# the outbox purposes whose confirmation may be announced: a pushed offer always, a pool offer
# when [notifications] pool_alert = "members" (`purposes`)
ALERTED_PURPOSES = ("offer", "pool")

# Wording per language (User.LanguageLocaleKey, first part); English when unknown.
TEXTS: dict[str, dict[str, str]] = {
    "en": {"title": "New lead for you: {company}", "digest": "{n} new leads for you",
           "body": "{lead} in {region} was offered to you.\nProducts: {products}\n"
                   "Accept or reject by {deadline}, or it goes to another partner.\n{link}",
           "none": "none given", "nodeadline": "no deadline",
           "pool_title": "Pool lead, first to accept gets it: {company}",
           "pool_body": "{lead} in {region} is in a pool your company belongs to: the first partner to accept it gets it.\n"
                        "Products: {products}\nAccept by {deadline}, or it goes to another partner.\n{link}"},
    "de": {"title": "Neuer Lead für Sie: {company}", "digest": "{n} neue Leads für Sie",
           "body": "{lead} in {region} wurde Ihnen angeboten.\nProdukte: {products}\n"
                   "Bitte bis {deadline} annehmen oder ablehnen, sonst geht der Lead an einen anderen Partner.\n{link}",
           "none": "keine Angabe", "nodeadline": "keine Frist",
           "pool_title": "Pool-Lead, wer zuerst annimmt, erhält ihn: {company}",
           "pool_body": "{lead} in {region} liegt in einem Pool, zu dem Ihr Unternehmen gehört: der Partner, der ihn zuerst annimmt, erhält ihn.\n"
                        "Produkte: {products}\nBitte bis {deadline} annehmen, sonst geht der Lead an einen anderen Partner.\n{link}"},
    "fr": {"title": "Nouveau lead pour vous : {company}", "digest": "{n} nouveaux leads pour vous",
           "body": "{lead} à {region} vous a été proposé.\nProduits : {products}\n"
                   "Acceptez ou refusez avant le {deadline}, sinon il sera proposé à un autre partenaire.\n{link}",
           "none": "non précisé", "nodeadline": "sans échéance",
           "pool_title": "Lead de pool, au premier qui l'accepte : {company}",
           "pool_body": "{lead} à {region} est dans un pool dont votre société fait partie : le premier partenaire qui l'accepte l'obtient.\n"
                        "Produits : {products}\nAcceptez avant le {deadline}, sinon il sera proposé à un autre partenaire.\n{link}"},
    "es": {"title": "Nuevo lead para usted: {company}", "digest": "{n} leads nuevos para usted",
           "body": "Se le ha ofrecido {lead} en {region}.\nProductos: {products}\n"
                   "Acéptelo o recházelo antes del {deadline}, o pasará a otro socio.\n{link}",
           "none": "no indicado", "nodeadline": "sin plazo",
           "pool_title": "Lead de pool, para el primero que lo acepte: {company}",
           "pool_body": "{lead} en {region} está en un pool del que forma parte su empresa: el primer socio que lo acepte se lo queda.\n"
                        "Productos: {products}\nAcéptelo antes del {deadline}, o pasará a otro socio.\n{link}"},
    "it": {"title": "Nuovo lead per lei: {company}", "digest": "{n} nuovi lead per lei",
           "body": "Le è stato offerto {lead} in {region}.\nProdotti: {products}\n"
                   "Accetti o rifiuti entro il {deadline}, altrimenti passerà a un altro partner.\n{link}",
           "none": "non indicati", "nodeadline": "nessuna scadenza",
           "pool_title": "Lead del pool, al primo che lo accetta: {company}",
           "pool_body": "{lead} in {region} è in un pool di cui fa parte la sua azienda: lo ottiene il primo partner che lo accetta.\n"
                        "Prodotti: {products}\nLo accetti entro il {deadline}, altrimenti passerà a un altro partner.\n{link}"},
    "pt": {"title": "Novo lead para você: {company}", "digest": "{n} novos leads para você",
           "body": "{lead} em {region} foi oferecido a você.\nProdutos: {products}\n"
                   "Aceite ou recuse até {deadline}, ou ele irá para outro parceiro.\n{link}",
           "none": "não informado", "nodeadline": "sem prazo",
           "pool_title": "Lead do pool, para quem aceitar primeiro: {company}",
           "pool_body": "{lead} em {region} está num pool do qual sua empresa faz parte: o primeiro parceiro que aceitar fica com ele.\n"
                        "Produtos: {products}\nAceite até {deadline}, ou ele irá para outro parceiro.\n{link}"},
    "nl": {"title": "Nieuwe lead voor u: {company}", "digest": "{n} nieuwe leads voor u",
           "body": "{lead} in {region} is u aangeboden.\nProducten: {products}\n"
                   "Accepteer of weiger vóór {deadline}, anders gaat de lead naar een andere partner.\n{link}",
           "none": "niet opgegeven", "nodeadline": "geen termijn",
           "pool_title": "Poollead, wie eerst accepteert krijgt hem: {company}",
           "pool_body": "{lead} in {region} staat in een pool waartoe uw bedrijf behoort: de partner die hem als eerste accepteert, krijgt hem.\n"
                        "Producten: {products}\nAccepteer vóór {deadline}, anders gaat de lead naar een andere partner.\n{link}"},
    "ja": {"title": "新しいリード: {company}", "digest": "新しいリード {n} 件",
           "body": "{region} の {lead} があなたに割り当てられました。\n製品: {products}\n"
                   "{deadline} までに承諾または辞退してください。期限を過ぎると他のパートナーに回ります。\n{link}",
           "none": "指定なし", "nodeadline": "期限なし",
           "pool_title": "プールのリード（先着順）: {company}",
           "pool_body": "{region} の {lead} は貴社が参加するプールにあります。最初に承諾したパートナーに割り当てられます。\n"
                        "製品: {products}\n{deadline} までに承諾してください。期限を過ぎると他のパートナーに回ります。\n{link}"},
}


def texts(language: str | None) -> dict[str, str]:
    key = (language or "en").replace("-", "_").split("_")[0].lower()
    return TEXTS.get(key, TEXTS["en"])


def lead_link(cx, lead_id: str) -> str:
    """Where the rep opens the lead: the partner portal when configured, else the org."""
    portal = (getattr(cx.settings.notifications, "portal_url", None) or "").rstrip("/")
    if portal:
        return f"{portal}/lead/{lead_id}/detail"  # Experience Cloud's record page
    base = (getattr(cx.client, "instance_url", None) or "").rstrip("/")
    return f"{base}/lightning/r/Lead/{lead_id}/view"


def purposes(cx) -> tuple[str, ...]:
    """The outbox purposes whose confirmed writes this config announces."""
    n = cx.settings.notifications
    if getattr(n, "offer_alert", "email") == "off":
        return ()
    return ALERTED_PURPOSES if getattr(n, "pool_alert", "off") == "members" else ("offer",)


def send_offer_alerts(cx, now: datetime, offers: Iterable[dict[str, Any]],
                      counts: dict[str, int] | None = None) -> dict[str, int]:
    """Alert the reps of offers whose write Salesforce has confirmed.

    `offers`: outbox entries just flushed (each with id, lead_id, offer_id, purpose);
    the state says which of them were confirmed — only those are announced. Counts go
    into `counts` when given (the flush's own), and are returned."""
    mode = getattr(cx.settings.notifications, "offer_alert", "email")
    wanted = purposes(cx)
    entries = [e for e in offers if e.get("purpose") in wanted and e.get("offer_id")]
    if mode == "off" or not entries:
        return {}
    rows = _claimed(cx, now, _confirmed_offers(cx, [e["id"] for e in entries]))
    if not rows:
        return {}
    routing = cx.routing()
    convert = cx.mappings.lead_converter()
    members = pool_members(cx, routing, now, [(o, r) for o, r in rows if o.get("kind") == "pool"], convert)
    # each offer's facts once (what the lead stream remembered is used up by the first read)
    alerted = [(offer, _facts(cx, offer, record, convert),
                members[offer["id"]][0] if offer["id"] in members else _recipients(routing, offer))
               for offer, record in rows]
    by_rep: dict[str, list[int]] = {}
    for i, (_, _, recipients) in enumerate(alerted):
        for rep_id in recipients:
            by_rep.setdefault(rep_id, []).append(i)
    singles = sum(len(v) for v in by_rep.values())
    digest = singles > INPUTS_PER_CALL  # more than one call's worth: one message per rep instead
    notes: list[Notification] = []
    covers: list[list[int]] = []  # the offers each message tells of
    for rep_id, mine in sorted(by_rep.items()):
        rep = rep_of(routing, rep_id)
        language = rep.language if rep else None
        words = texts(language)
        zone = rep.time_zone if rep else None
        if digest and len(mine) > 1:
            # a bell notification must open a record (Salesforce refuses one without targetId
            # or targetPageRef): the rep's most urgent lead. An email is not attached to one:
            # the Lead's activities would list the other leads to the next partner's reps.
            urgent = min(mine, key=lambda i: (alerted[i][0].get("deadline") is None, alerted[i][0].get("deadline"), i))
            notes.append(Notification(recipient_ids=(rep_id,), title=words["digest"].format(n=len(mine)),
                                      body="\n\n".join(_body(words, alerted[i][1], zone, language) for i in mine)[:32_000],
                                      target_id=alerted[urgent][1]["lead_id"] if mode == "custom" else None))
            covers.append(mine)
        else:
            for i in mine:
                f = alerted[i][1]
                title = words["pool_title" if f["pool"] else "title"].format(company=f["company"])
                notes.append(Notification(recipient_ids=(rep_id,), title=title,
                                          body=_body(words, f, zone, language), target_id=f["lead_id"]))
                covers.append([i])
    log = cx.log(component="alerts")
    kind = "custom" if mode == "custom" else "email"
    # the offers stand when this fails; only their announcement is lost (the reminder still comes)
    results = activity.send(cx, kind, notes, log=log, event="offer_alerts_not_sent", offers=singles,
                            config_fix="offer_alert = \"custom\" needs [notifications] custom_notification_type_id")
    # a bell notification must open a record: a folded message opens its first lead
    results, limited = email_limit.by_bell_instead(cx, kind, results, log=log, event="offer_alerts", noun="alert",
                                                   target_of=lambda j: alerted[covers[j][0]][1]["lead_id"])
    failed = [r for r in results if not r.ok]
    if failed:
        log.warning("offer_alerts_failed", failed=len(failed), code=failed[0].code, message=failed[0].message,
                    **({"fix": failed[0].fix} if failed[0].fix else {}))
    out = {"alerted": singles, "alert_messages": len(notes) - len(failed)} if notes else {}
    if failed:
        out["alerts_failed"] = len(failed)
    if limited:
        out["alerts_email_limit"] = len(limited)
    told_of_pools = sum(len(members[o["id"]][0]) for o, _, _ in alerted if o["id"] in members)
    if told_of_pools:
        out["pool_alerted"] = told_of_pools
    outcomes: list[list[NotifyResult]] = [[] for _ in alerted]
    for note_result, mine in zip(results, covers):
        for i in mine:
            outcomes[i].append(note_result)
    refused: list[list[NotifyResult]] = [[] for _ in alerted]  # the email limit's refusals, per offer
    for j, refusal in limited.items():
        for i in covers[j]:
            refused[i].append(refusal)
    # an alert the email limit stopped shows on its Lead whatever alert_tasks says: nothing else
    # tells an admin that the rep was never emailed
    marks = [_mark(routing, offer, kind, outcome, refused[i], members.get(offer["id"], ((), {}))[1])
             for i, ((offer, _, _), outcome) in enumerate(zip(alerted, outcomes))
             if refused[i] or activity.wanted(cx, TASK_SETTING, bool(outcome) and all(r.ok for r in outcome))]
    activity.write(cx, now, marks, kind="alert", setting=TASK_SETTING, counts=out,
                   warned=bool(counts and counts.get("alert_tasks_failed")))
    if counts is not None:
        for k, v in out.items():
            counts[k] = counts.get(k, 0) + v
    return out


def _mark(routing, offer: dict[str, Any], kind: str, outcome: list[NotifyResult],
          limited: list[NotifyResult] | None = None, left_out: dict[str, int] | None = None) -> activity.Mark:
    """The Task on the Lead for its alert: who was told how (never their names: a later
    partner's reps read the lead's activities too), the deadline in their zones. `limited`:
    the email limit's refusals (each then went by the bell, or not at all); `left_out`: for a
    pool, how many members were not told, by why."""
    pool = offer.get("kind") == "pool"
    users = sorted({u for r in outcome for u in r.notification.recipient_ids})
    who = activity.users(len(users), "pool" if pool else "offered partner")
    what = "this lead is in their pool, for the first partner to accept it" if pool else "this lead was offered to them"
    how = activity.HOW[kind]
    failure = next((r for r in outcome if not r.ok), None)
    if outcome and failure is None and limited:
        subject = "Offer alert not sent by email"
        lines = [f"leadrouter could not email {who} that {what} "
                 f"({activity.reason(limited[0].code, limited[0].message)}); it told them "
                 f"{activity.HOW['custom']} instead."]
    elif outcome and failure is None:
        subject, lines = "Offer alert sent", [f"leadrouter told {who} {how} that {what}."]
    elif failure is not None and failure.code == OUTCOME_UNKNOWN:
        subject = "Offer alert may not have been sent"
        lines = [f"leadrouter asked Salesforce to tell {who} {how} that {what}, and cannot "
                 f"tell whether it did ({activity.reason(failure.code, failure.message)}).",
                 "The offer stands; the reminder before the deadline still comes."]
    else:
        if failure is not None:
            reason = activity.reason(failure.code, failure.message)
        elif pool:
            reason = "no member the lead is for has an active user in the pool's queue"
        else:
            reason = "no active partner user to tell"
        subject = "Offer alert not sent"
        lines = [f"leadrouter could not tell {who if outcome else 'anyone'} {how} that {what} ({reason}).",
                 "The offer stands; the partner sees the lead in its list views."]
    if left_out:
        lines.append("Pool members not told: " + ", ".join(f"{n} {why}" for why, n in sorted(left_out.items())) + ".")
    zones = [rep.time_zone if rep else None for rep in (rep_of(routing, u) for u in users)]
    facts = [f"Offer attempt: {offer.get('attempt')}", *deadline_lines(offer.get("deadline"), zones)]
    return activity.Mark(offer["lead_id"], subject, "\n".join(lines + facts))


# What an alert says about a lead is kept (cx.alert_facts, bounded) from when the lead
# stream converted it: a burst's alerts then neither read the stored record back nor
# convert it a second time. A miss (a restart, an evicted lead) reads the record.
REMEMBER_AT_MOST = 20_000  # a write round's worth and more; ~15 MB at most


def remember(cx, leads: Iterable[tuple[Any, dict[str, Any]]]) -> None:
    """Keep what an offer alert would say about these leads: (converted lead, the record
    as the state keeps it). The alert says no more than the stored record would: the
    person's name only where the minimiser keeps it (jobs/minimise.py)."""
    memo = getattr(cx, "alert_facts", None)
    if memo is None:
        return
    name_fields = [f for fields in _name_fields(cx).values() for f in fields]
    for lead, kept in leads:
        if hasattr(lead, "company"):
            memo[lead.id] = _lead_facts(lead, person=all(f in kept for f in name_fields))
    if len(memo) > REMEMBER_AT_MOST:
        for key in list(memo)[:len(memo) - REMEMBER_AT_MOST]:
            del memo[key]


def _confirmed_offers(cx, entry_ids: list[int]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The offers of confirmed outbox entries, with the lead as last read (the stored
    record is read only for leads whose facts are not remembered, and for pool offers)."""
    ob, o, lead = schema.outbox, schema.offers, schema.leads
    memo = getattr(cx, "alert_facts", None) or {}
    offers = []
    with cx.store.connect() as conn:
        for i in range(0, len(entry_ids), 500):
            # an offer over by now (answered, lapsed, taken back) is not announced: a write
            # confirmed late (after a restart) can find it so
            q = (select(o).select_from(ob.join(o, o.c.id == ob.c.offer_id))
                 .where(ob.c.id.in_(entry_ids[i:i + 500]), ob.c.status == "confirmed", o.c.status == "live")
                 .order_by(o.c.id))
            offers += [dict(row) for row in conn.execute(q).mappings()]
        # a pool offer's lead is read whatever is remembered: which members its rule admits
        # is decided on the lead itself, not on what the alert says of it
        missing = sorted({x["lead_id"] for x in offers if x["lead_id"] not in memo or x["kind"] == "pool"})
        records: dict[str, Any] = {}
        for i in range(0, len(missing), 500):
            records.update(conn.execute(select(lead.c.lead_id, lead.c.record)
                                        .where(lead.c.lead_id.in_(missing[i:i + 500]))).all())
    return [(x, records.get(x["lead_id"])) for x in offers]


def _claimed(cx, now: datetime, rows: list[tuple[dict[str, Any], Any]]) -> list[tuple[dict[str, Any], Any]]:
    """The offers whose alert this call claims: each offer's once, in one statement a second
    connector (or a later confirmation of the same write) cannot also win."""
    with cx.store.begin() as conn:
        won = of.claim(conn, [offer["id"] for offer, _ in rows], "alerted_at", None, now)
    return [(offer, record) for offer, record in rows if offer["id"] in won]


def pool_members(cx, routing, now: datetime, rows: list[tuple[dict[str, Any], Any]],
                  convert) -> dict[int, tuple[tuple[str, ...], dict[str, int]]]:
    """For each pool offer: the reps to tell — each member's active reps in the pool's queue,
    as a pushed offer's partner's are told — and how many members were left out, by why: one
    barred from the lead (it rejected it or let it lapse), one at its capacity or daily cap
    (caps keep the connector from pushing a partner more, and telling it of a lead is pushing
    one), one the pool's rule does not admit for the lead (its pick-up would be undone)."""
    if not rows:
        return {}
    from jobs.lifecycle import load_state  # lifecycle imports the jobs that import alerts

    router = routing.router
    with cx.store.connect() as conn:
        state = load_state(conn, [offer["lead_id"] for offer, _ in rows])
    # the caps' day as the router counts it, without touching the router's own day cache (the
    # stream's writer thread alerts while the lead job decides): a `now` of our own is never
    # taken for the day the router cached counts for
    state.day_zone, state.day_zones = router.caps.time_zone, router.caps.zones
    now = now + timedelta(0)
    out: dict[int, tuple[tuple[str, ...], dict[str, int]]] = {}
    for offer, record in rows:
        pool = routing.pools.get(offer.get("queue_id") or "")
        if pool is None:
            out[offer["id"]] = ((), {})
            continue
        try:
            lead = convert(record) if record else None
        except Exception:  # a record the mappings cannot read: the rule's admission goes unchecked
            lead = None
        lead = lead if hasattr(lead, "company") else None
        declined = state.declined(offer["lead_id"])
        reps: list[str] = []
        left_out: dict[str, int] = {}
        for pid in sorted(pool.member_partner_ids):
            why = _not_told(router, state, now, lead, offer.get("rule"), pid, declined)
            if why:
                left_out[why] = left_out.get(why, 0) + 1
                continue
            partner = routing.partners.get(pid)
            reps += [r.id for r in (partner.active_reps if partner else ()) if r.id in pool.member_rep_ids]
        out[offer["id"]] = (tuple(dict.fromkeys(reps)), left_out)
    return out


def _not_told(router, state, now: datetime, lead: Any, rule: str | None, partner_id: str,
              declined: dict[str, str]) -> str | None:
    """Why a pool member is not told of the lead (as the Task counts it), or None. A paused
    partner is pushed nothing, and an email about a pool lead is a push; its reps still see
    the lead in the queue."""
    if partner_id in declined:
        return "barred (it rejected the lead or let it lapse)"
    pos = router.index.pos.get(partner_id)
    if pos is not None and router.index.paused >> pos & 1:
        return "paused"
    capped = router.caps.blocked(pos, state, now) if pos is not None else None
    if capped:
        return "at capacity" if capped.startswith("at capacity") else "at daily cap"
    if lead is not None and rule and router.admits(lead, rule, partner_id, state, now):
        return "not admitted by the pool's rule"
    return None


def _recipients(routing, offer: dict[str, Any]) -> tuple[str, ...]:
    if offer.get("rep_id"):
        return (offer["rep_id"],)
    partner = routing.partners.get(offer.get("partner_id") or "")
    return tuple(r.id for r in partner.active_reps) if partner else ()


def rep_of(routing, rep_id: str):
    """The rep (rules.model.Rep) of this user id, or None when routing does not know it."""
    partner = routing.partners.get(routing.rep_partner.get(rep_id, ""))
    return next((r for r in partner.reps if r.id == rep_id), None) if partner else None


def _facts(cx, offer: dict[str, Any], record: dict[str, Any] | None, convert) -> dict[str, Any]:
    memo = getattr(cx, "alert_facts", None)
    about = memo.pop(offer["lead_id"], None) if memo else None  # one alert per offer: used once
    if about is None:
        lead = None
        if record:
            try:
                lead = convert(record)
            except Exception:  # a record the mappings cannot read still gets an alert, with less in it
                lead = None
        about = _lead_facts(lead)
    return {"lead_id": offer["lead_id"], **about, "deadline": offer.get("deadline"),
            "link": lead_link(cx, offer["lead_id"]), "pool": offer.get("kind") == "pool"}


def _name_fields(cx) -> dict[str, tuple[str, ...]]:
    sources = cx.mappings.source_fields("lead")
    return {n: tuple(sources.get(n, ())) for n in ("first_name", "last_name")}


def _lead_facts(lead: Any, *, person: bool = True) -> dict[str, Any]:
    get = (lambda name: getattr(lead, name, None)) if lead is not None and hasattr(lead, "company") else (lambda _: None)
    # The state keeps no personal fields: the person's name is there only if a mapping kept it.
    # Web forms fill these: each goes into the alert as one plain line (jobs/printable.plain).
    # A name in Arabic or Hebrew is isolated, so the sentence around it keeps its order.
    person = " ".join(p for p in (in_sentence(get("first_name")), in_sentence(get("last_name"))) if p) if person else ""
    company = in_sentence(get("company")) or person or "a lead"
    places = (get("city"), get("state"), get("country"))
    return {"lead": f"{person} ({company})" if person else company, "company": company,
            "region": region_text(places), "places": places,
            "products": sorted(in_sentence(p) for p in get("products") or ())}


def region_text(places: tuple[str | None, str | None, str | None], language: str | None = None) -> str:
    """City, state and country as a partner reads them: the lead holds ISO 3166 codes
    ("US-ND", "US"), named here in the rep's language where pycountry has it ("North
    Dakota, United States"); a code it does not know stays as it is."""
    city, state, country = places
    region = ", ".join(p for p in (in_sentence(city), in_sentence(place_name(state, language)),
                                   in_sentence(place_name(country, language))) if p)
    return region or "?"


def _body(words: dict[str, str], f: dict[str, Any], zone: str | None, language: str | None = None) -> str:
    region = region_text(f["places"], language) if f.get("places") else f["region"]
    return words["pool_body" if f.get("pool") else "body"].format(lead=f["lead"], company=f["company"], region=region,
                                products=", ".join(f["products"]) or words["none"],
                                deadline=deadline_text(f["deadline"], zone) or words["nodeadline"], link=f["link"])


def deadline_text(at: datetime | None, zone: str | None) -> str | None:
    """The deadline in the rep's own time zone, with UTC alongside (reps cross zones)."""
    if at is None:
        return None
    utc = f"{at:%Y-%m-%d %H:%M} UTC"
    local = local_time(at, zone)
    return f"{local} ({utc})" if local else utc


def local_time(at: datetime, zone: str | None) -> str | None:
    """`at` in the zone, named ("2024-05-01 16:00 Europe/Berlin"); None where it would say
    no more than UTC does (no zone, UTC by another name, or a zone Python does not know)."""
    try:
        local = at.astimezone(time_zone(zone)) if zone else None
    except ValueError:  # not a zone Python knows (any way a name can be wrong): UTC alone
        local = None
    if local is None or local.utcoffset() == at.utcoffset():
        return None
    return f"{local:%Y-%m-%d %H:%M} {zone}"


def deadline_lines(at: datetime | None, zones: Iterable[str | None]) -> list[str]:
    """The deadline for an admin (a Task on the Lead, jobs/activity.py): in UTC, then in each
    of the recipients' zones that says more."""
    if at is None:
        return ["Offer deadline: none"]
    local = sorted({t for t in (local_time(at, z) for z in set(zones)) if t})
    return [f"Offer deadline: {at:%Y-%m-%d %H:%M} UTC", *(f"In the recipient's time zone: {t}" for t in local)]
