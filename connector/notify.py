"""Offer and reminder notifications through Salesforce's standard invocable actions.

- ``custom``: `POST actions/standard/customNotificationAction` — a bell/push
  notification to users, needs a Custom Notification Type id.
- ``email``: `POST actions/standard/emailSimple` — a plain email.
- ``none``: the org notifies with a Flow on `Routing_Status__c`; nothing is sent.

Inputs go in batches; each input's outcome is reported back against its notification.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from .config import NotifyConfig
from .errors import ConnectorError, classify, error_list
from .retry import surely_not_applied
from .soql import check_id

NotifyKind = Literal["custom", "email", "none"]
ACTION_PATHS = {
    "custom": "actions/standard/customNotificationAction",
    "email": "actions/standard/emailSimple",
}
INPUTS_PER_CALL = 200
# Salesforce refuses a custom notification whose title or body is longer: a long Company
# in the title, or a backlog folded into one message, is cut to fit instead
CUSTOM_TITLE_MAX, CUSTOM_BODY_MAX = 250, 750
EMAIL_RECIPIENTS_PER_INPUT = 5  # emailSimple's documented limit for emailAddresses


@dataclass(frozen=True, slots=True)
class Notification:
    recipient_ids: tuple[str, ...]  # User ids (005…) to notify
    title: str
    body: str
    target_id: str | None = None  # the record the notification opens (the lead)
    emails: tuple[str, ...] = ()  # for email: addresses, used instead of recipient ids when given


@dataclass(frozen=True, slots=True)
class NotifyResult:
    notification: Notification
    ok: bool
    code: str | None = None
    message: str | None = None
    fix: str | None = None  # what a person changes when the org or the config refused it


def action_inputs(
    kind: NotifyKind, notification: Notification, config: NotifyConfig
) -> list[dict[str, Any]]:
    """The action inputs for one notification (email to users needs one input each)."""
    if kind == "custom":
        if not config.custom_notification_type_id:
            raise ValueError(
                "custom notifications need notify.custom_notification_type_id (a CustomNotificationType Id)"
            )
        item: dict[str, Any] = {
            "customNotifTypeId": config.custom_notification_type_id,
            "recipientIds": [check_id(r) for r in notification.recipient_ids],
            "title": _fit(notification.title, CUSTOM_TITLE_MAX),
            "body": _fit(notification.body, CUSTOM_BODY_MAX),
        }
        if notification.target_id:
            item["targetId"] = check_id(notification.target_id)
        return [item]
    if kind == "email":
        common: dict[str, Any] = {"emailSubject": notification.title, "emailBody": notification.body}
        if config.email_sender_type:
            common["senderType"] = config.email_sender_type
        if config.email_sender_address:
            common["senderAddress"] = config.email_sender_address
        if notification.emails:
            if notification.target_id:
                common["relatedRecordId"] = check_id(notification.target_id)
            emails = list(notification.emails)
            return [
                {**common, "emailAddresses": ",".join(emails[i : i + EMAIL_RECIPIENTS_PER_INPUT])}
                for i in range(0, len(emails), EMAIL_RECIPIENTS_PER_INPUT)
            ]
        # To a user, no related record: Salesforce sends the email as a single email to the
        # user as its target, and refuses a related record ("what") beside a user target
        # (INVALID_ID_FIELD, "WhatId is not available for sending emails to UserIds"). Nor is it
        # needed: the body links to the lead, and the Lead's Task says what was sent.
        return [{**common, "recipientId": check_id(r)} for r in notification.recipient_ids]
    raise ValueError(f"notification kind {kind!r} is not one of custom, email, none")


def _fit(text: str, limit: int) -> str:
    """Cut to `limit` as Salesforce counts: in UTF-16 code units, an emoji two (as
    mappings/textlen.py counts for fields; importing mappings here would put all of it
    under the connector's strict type check)."""
    if len(text.encode("utf-16-le", "surrogatepass")) // 2 <= limit:
        return text
    used = 0
    for i, c in enumerate(text):
        used += 2 if ord(c) > 0xFFFF else 1
        if used > limit - 1:
            return text[:i] + "…"
    return text


# An action call that got no answer it could trust (a read timeout, a connection closed on
# the way back, a 500 after its retries): Salesforce may have sent its messages. They are not sent again —
# a person told twice, 200 at a time, is worse than a lead whose Task says it is unsure.
OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"


def unanswered(inputs: int, exc: ConnectorError) -> list[dict[str, Any]]:
    """Each input's result for a call that failed after its retries: not sent when Salesforce
    surely did nothing (it answered 503, the connection never opened), else unknown."""
    failure = exc.failure
    cause = exc.__cause__ or exc
    if surely_not_applied(cause):
        error = {"statusCode": failure.code, "message": failure.message}
    else:
        error = {"statusCode": OUTCOME_UNKNOWN,
                 "message": f"Salesforce's answer was lost or said nothing of the outcome ({failure.code}: "
                            f"{failure.message[:200]}); the message may have gone out and is not sent again"}
    return [{"isSuccess": False, "errors": [error]} for _ in range(inputs)]


def outcome(notification: Notification, results: Sequence[Mapping[str, Any]]) -> NotifyResult:
    """One notification's result from the action results of its inputs."""
    for r in results:
        if not r.get("isSuccess"):
            failure = classify(error_list(r.get("errors"))[0])
            return NotifyResult(notification, False, failure.code, failure.message,
                                failure.fix if failure.kind == "config" else None)
    return NotifyResult(notification, True)
