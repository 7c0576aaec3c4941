"""Invocable standard actions that notify people: customNotificationAction and
emailSimple. Inputs are checked as Salesforce checks them; nothing is sent - every
accepted input is recorded in `sandbox.notifications` for tests and the demo."""
from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING, Any

from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.notifications import Notification
from sandbox.values import utf16_length

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

# action -> (required inputs, inputs of which at least one is needed)
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "customNotificationAction": (("customNotifTypeId", "recipientIds", "title", "body"), ("targetId", "targetPageRef")),
    "emailSimple": (("emailSubject", "emailBody"), ("emailAddresses", "emailAddressesArray", "recipientId")),
}
# a custom notification's title and body, as Salesforce documents them for the action
CUSTOM_LIMITS = {"title": 250, "body": 750}
_LABELS = {"customNotificationAction": "Send Custom Notification", "emailSimple": "Send Email"}
_SUCCESS = {
    "customNotificationAction": {"SuccessMessage": "Your custom notification is processed successfully."},
    "emailSimple": None,
}


def list_actions(sb: Sandbox, request: Request) -> Response:
    base = f"/services/data/v{request.version}/actions/standard"
    return Response(200, {"actions": [
        {"label": _LABELS[name], "name": name, "type": name.upper() if name == "emailSimple" else "CUSTOMNOTIFICATIONACTION",
         "url": f"{base}/{name}"} for name in ACTIONS
    ]})  # fmt: skip


def _problems(sb: Sandbox, action: str, inputs: Any) -> list[dict]:
    if not isinstance(inputs, dict):
        return [{"statusCode": "INVALID_API_INPUT", "message": "each input must be a JSON object", "fields": []}]
    required, one_of = ACTIONS[action]
    problems = [
        {"statusCode": "REQUIRED_FIELD_MISSING", "message": f"Missing required input parameter: {name}", "fields": []}
        for name in required if inputs.get(name) in (None, "", [])
    ]  # fmt: skip
    if not any(inputs.get(name) not in (None, "", []) for name in one_of):
        problems.append({"statusCode": "REQUIRED_FIELD_MISSING",
                         "message": f"Missing required input parameter: one of {', '.join(one_of)}", "fields": []})  # fmt: skip
    if action == "emailSimple" and not problems and getattr(sb.org, "email_deliverability", "all") != "all":
        # Setup → Deliverability → Access level "System email only" or "No access": the
        # action sends nothing (the code is the one Apex's single email answers with)
        problems.append({"statusCode": "NO_MASS_MAIL_PERMISSION",
                         "message": "Single email is not enabled for your organization or profile.", "fields": []})
    if action == "emailSimple" and not problems and isinstance(inputs.get("recipientId"), str):
        # a deactivated user is no recipient (the code is the one Apex's single email answers a
        # bad target object with; the exact code for an inactive user is not confirmed)
        found = sb.org.lookup(inputs["recipientId"])
        if found is not None and found[0] == "User" and not found[1].get("IsActive", True):
            problems.append({"statusCode": "INVALID_ID_FIELD",
                             "message": f"Invalid recipientId: {inputs['recipientId']} is an inactive user",
                             "fields": ["recipientId"]})  # fmt: skip
    if action == "emailSimple" and not problems and isinstance(inputs.get("recipientId"), str) \
            and inputs.get("relatedRecordId") and str(inputs["recipientId"]).startswith("005"):
        # a single email's "what" record goes only with a contact as its target (Apex's
        # SingleEmailMessage rule; for this action without logging it is not confirmed, so the
        # stand-in takes the stricter side: a client that passes here passes in an org)
        problems.append({"statusCode": "INVALID_ID_FIELD",
                         "message": "WhatId is not available for sending emails to UserIds.",
                         "fields": ["relatedRecordId"]})  # fmt: skip
    if action == "emailSimple" and not problems:
        wanted = external_addresses(inputs, everyone=getattr(sb.org, "single_email_counts_all", False))
        if wanted and wanted > single_emails_left(sb):
            problems.append({"statusCode": "SINGLE_EMAIL_LIMIT_EXCEEDED",
                             "message": "Email limit exceeded: the org's daily limit of single emails to external "
                                        "addresses is used up until midnight GMT", "fields": []})  # fmt: skip
    if action == "customNotificationAction" and not problems:
        for name, limit in CUSTOM_LIMITS.items():
            value = inputs[name]
            if isinstance(value, str) and utf16_length(value) > limit:
                problems.append({"statusCode": "STRING_TOO_LONG",
                                 "message": f"{name}: data value too large: the notification's {name} holds at most "
                                            f"{limit} characters, got {utf16_length(value)}", "fields": [name]})  # fmt: skip
        type_id = inputs["customNotifTypeId"]
        found = sb.org.lookup(type_id) if isinstance(type_id, str) else None
        if found is None or found[0] != "CustomNotificationType" or found[1]["IsDeleted"]:
            problems.append({"statusCode": "INVALID_ID_FIELD",
                             "message": f"Invalid customNotifTypeId: {type_id} (SELECT Id FROM CustomNotificationType "
                                        f"WHERE DeveloperName = '...' gives the org's types)",
                             "fields": []})  # fmt: skip
        recipients = inputs["recipientIds"]
        if not isinstance(recipients, list) or len(recipients) > 500:
            problems.append({"statusCode": "INVALID_API_INPUT",
                             "message": "recipientIds must be a list of at most 500 user, group or queue ids", "fields": []})  # fmt: skip
        else:
            for rid in recipients:
                found = sb.org.lookup(rid) if isinstance(rid, str) else None
                if found is None or found[0] not in ("User", "Group", "Account"):
                    problems.append({"statusCode": "INVALID_ID_FIELD", "message": f"Invalid recipient id: {rid}", "fields": []})  # fmt: skip
    return problems


def _inactive_user(sb: Sandbox, record_id: str) -> bool:
    found = sb.org.lookup(record_id)
    return found is not None and found[0] == "User" and not found[1].get("IsActive", True)


def external_addresses(inputs: dict[str, Any], *, everyone: bool = False) -> int:
    """What one emailSimple input counts against the daily single-email limit. Only an input
    that logs the email (logEmailOnSend) or uses a template counts against it, as the Actions
    Developer Guide says from API 244.0 on; the others count against the daily workflow email
    limit, which the sandbox does not keep. Of one that counts: each email address, and a
    recipient by id that is not a user of the org (a lead, a contact); a user told by id is
    not counted, as Salesforce documents for an email to a User by its id. `everyone`
    (`sb.org.single_email_counts_all`): every input counts, each address and recipient."""
    if not everyone and not (inputs.get("logEmailOnSend") in (True, "true") or inputs.get("emailTemplateId")):
        return 0
    listed = inputs.get("emailAddressesArray")
    addresses = [a for a in (listed if isinstance(listed, list) else str(inputs.get("emailAddresses") or "").split(","))
                 if str(a).strip()]
    recipient = inputs.get("recipientId")
    by_id = 1 if isinstance(recipient, str) and recipient and (everyone or not recipient.startswith("005")) else 0
    return len(addresses) + by_id


def single_emails_left(sb: Sandbox) -> int:
    """`SingleEmail` Remaining: the day is Greenwich Mean Time's, from midnight to midnight."""
    now = sb.clock.now().astimezone(timezone.utc)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    everyone = getattr(sb.org, "single_email_counts_all", False)
    used = sum(external_addresses(n.inputs, everyone=everyone) for n in sb.notifications.all("emailSimple")
               if n.at.astimezone(timezone.utc) >= day)
    return max(0, getattr(sb.org, "single_email_max", 5000) - used)


def invoke(sb: Sandbox, request: Request) -> Response:
    action = request.params["action"]
    if action not in ACTIONS:
        raise SalesforceError(404, "NOT_FOUND", f"The requested resource does not exist: standard action '{action}' is not emulated")  # fmt: skip
    body = request.json()
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise SalesforceError(400, "JSON_PARSER_ERROR", 'Expected {"inputs": [{...}, ...]} with at least one input')
    results = []
    now = sb.clock.now()
    for item in inputs:
        problems = _problems(sb, action, item)
        if problems:
            results.append({"actionName": action, "errors": problems, "isSuccess": False, "outputValues": None})
            continue
        note = Notification(action, dict(item), request.user_id or "", now)
        if action == "customNotificationAction":
            # accepted, but a user is told only "if this user is active" (Actions Developer Guide)
            note.extra["not_delivered"] = [r for r in item["recipientIds"] if _inactive_user(sb, r)]
        sb.notifications.record(note)
        results.append({"actionName": action, "errors": None, "isSuccess": True, "outputValues": _SUCCESS[action]})
    status = 200 if all(r["isSuccess"] for r in results) else 400
    return Response(status, results)
