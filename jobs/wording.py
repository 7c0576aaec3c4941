"""What reminders say to a partner's rep, in the rep's language (User.LanguageLocaleKey,
its first part; English when unknown), in the languages the offer alert speaks
(jobs/alerts.py TEXTS).

Each names the lead and links to it: an email to a rep (emailSimple) is attached to no
record (connector/notify.py) and carries no link of its own, so a message without them
left the rep to find which lead was meant.
"""
from __future__ import annotations

REMINDER: dict[str, dict[str, str]] = {
    "en": {"reminder_title": "Lead offer expires soon: {company}",
           "reminder_body": "Please accept or reject {lead} before {deadline}, or it goes to another partner.\n{link}",
           "followup_title": "Accepted lead not worked yet: {company}",
           "followup_body": "You accepted {lead} {days} days ago and its status is still {status}.\n{link}",
           # to a colleague reminded instead of the rep who held it (deactivated since)
           "followup_colleague_body": "{partner} accepted {lead} {days} days ago; its rep is no longer active in Salesforce and its status "
                                    "is still {status}. Please work it.\n{link}"},
    "de": {"reminder_title": "Angebot läuft bald ab: {company}",
           "reminder_body": "Bitte {lead} bis {deadline} annehmen oder ablehnen, sonst geht der Lead an einen "
                            "anderen Partner.\n{link}",
           "followup_title": "Angenommener Lead noch nicht bearbeitet: {company}",
           "followup_body": "Sie haben {lead} vor {days} Tagen angenommen, und der Status ist noch {status}.\n{link}",
           # to a colleague reminded instead of the rep who held it (deactivated since)
           "followup_colleague_body": "{partner} hat {lead} vor {days} Tagen angenommen; der zuständige Mitarbeiter ist nicht mehr "
                                    "aktiv, und der Status ist noch {status}. Bitte bearbeiten Sie den Lead.\n{link}"},
    "fr": {"reminder_title": "L'offre expire bientôt : {company}",
           "reminder_body": "Acceptez ou refusez {lead} avant le {deadline}, sinon il sera proposé à un autre "
                            "partenaire.\n{link}",
           "followup_title": "Lead accepté pas encore traité : {company}",
           "followup_body": "Vous avez accepté {lead} il y a {days} jours et son statut est toujours {status}.\n{link}",
           # to a colleague reminded instead of the rep who held it (deactivated since)
           "followup_colleague_body": "{partner} a accepté {lead} il y a {days} jours ; son commercial n'est plus actif et son statut "
                                    "est toujours {status}. Merci de le traiter.\n{link}"},
    "es": {"reminder_title": "La oferta vence pronto: {company}",
           "reminder_body": "Acepte o rechace {lead} antes del {deadline}, o pasará a otro socio.\n{link}",
           "followup_title": "Lead aceptado aún sin trabajar: {company}",
           "followup_body": "Aceptó {lead} hace {days} días y su estado sigue siendo {status}.\n{link}",
           # to a colleague reminded instead of the rep who held it (deactivated since)
           "followup_colleague_body": "{partner} aceptó {lead} hace {days} días; su representante ya no está activo y su estado sigue "
                                    "siendo {status}. Por favor, trabájelo.\n{link}"},
    "it": {"reminder_title": "L'offerta scade a breve: {company}",
           "reminder_body": "Accetti o rifiuti {lead} entro il {deadline}, altrimenti passerà a un altro partner.\n"
                            "{link}",
           "followup_title": "Lead accettato non ancora lavorato: {company}",
           "followup_body": "Ha accettato {lead} {days} giorni fa e lo stato è ancora {status}.\n{link}",
           # to a colleague reminded instead of the rep who held it (deactivated since)
           "followup_colleague_body": "{partner} ha accettato {lead} {days} giorni fa; il suo referente non è più attivo e lo stato è "
                                    "ancora {status}. La preghiamo di lavorarlo.\n{link}"},
    "pt": {"reminder_title": "A oferta expira em breve: {company}",
           "reminder_body": "Aceite ou recuse {lead} até {deadline}, ou ele irá para outro parceiro.\n{link}",
           "followup_title": "Lead aceito ainda não trabalhado: {company}",
           "followup_body": "Você aceitou {lead} há {days} dias e o status ainda é {status}.\n{link}",
           # to a colleague reminded instead of the rep who held it (deactivated since)
           "followup_colleague_body": "{partner} aceitou {lead} há {days} dias; o representante dele não está mais ativo e o status "
                                    "ainda é {status}. Por favor, trabalhe-o.\n{link}"},
    "nl": {"reminder_title": "Aanbod verloopt binnenkort: {company}",
           "reminder_body": "Accepteer of weiger {lead} vóór {deadline}, anders gaat de lead naar een andere "
                            "partner.\n{link}",
           "followup_title": "Geaccepteerde lead nog niet opgepakt: {company}",
           "followup_body": "U hebt {lead} {days} dagen geleden geaccepteerd en de status is nog {status}.\n{link}",
           # to a colleague reminded instead of the rep who held it (deactivated since)
           "followup_colleague_body": "{partner} heeft {lead} {days} dagen geleden geaccepteerd; de vertegenwoordiger is niet meer "
                                    "actief en de status is nog {status}. Pak de lead alstublieft op.\n{link}"},
    "ja": {"reminder_title": "オファーの期限が近づいています: {company}",
           "reminder_body": "{deadline} までに {lead} を承諾または辞退してください。期限を過ぎると他のパートナーに"
                            "回ります。\n{link}",
           "followup_title": "承諾したリードが未対応です: {company}",
           "followup_body": "{days} 日前に {lead} を承諾しましたが、状況はまだ {status} です。\n{link}",
           # to a colleague reminded instead of the rep who held it (deactivated since)
           "followup_colleague_body": "{partner} が {days} 日前に {lead} を承諾しましたが、担当者はすでに無効で、状況はまだ "
                                    "{status} です。対応をお願いします。\n{link}"},
}


# To the escalation queue, reminded when the partner that accepted a lead has no active rep
# left: its members are no partner's reps and no one of them is the recipient (a queue has no
# language), so English; they read what happened and what to do, not the holder's words.
# (its title is the English follow-up's: "Accepted lead not worked yet" says it to them too)
QUEUE_FOLLOWUP = {
    "body": "{partner} accepted {lead} {days} days ago and its status is still {status}, but the partner has no "
            "active rep left in Salesforce: nobody there will work it. Please give it to someone who will work it "
            "(change its Lead Owner).\n{link}",
}


def reminder_words(language: str | None) -> dict[str, str]:
    key = (language or "en").replace("-", "_").split("_")[0].lower()
    return REMINDER.get(key, REMINDER["en"])


def stored_facts(cx, lead_ids: list[str]) -> dict[str, dict]:
    """What a reminder says of each lead — its company, the person where the state keeps the
    name — from the record the state keeps (jobs/minimise.py): reminders run without API
    reads. A lead whose record the mappings cannot read is "a lead"."""
    from jobs.alerts import _lead_facts
    from jobs.state import offers as of

    ids = sorted(set(lead_ids))
    with cx.store.connect() as conn:
        records = {lead_id: row.get("record") for lead_id, row in of.get_leads(conn, ids).items()}
    convert = cx.mappings.lead_converter()
    out = {}
    for lead_id in ids:
        lead = None
        if records.get(lead_id):
            try:
                lead = convert(records[lead_id])
            except Exception:  # noqa: BLE001 — the reminder still goes, with less in it
                lead = None
        out[lead_id] = _lead_facts(lead)
    return out
