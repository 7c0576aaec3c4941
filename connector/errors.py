"""Every failure the connector sees, and THE one function that decides what it means.

`classify()` is the only place that maps a fault — a requests exception, a
simple-salesforce exception, a raw HTTP response, a per-record error from a
SaveResult, an OAuth error — to one of five kinds:

- ``transient``  retry with backoff (network, timeouts, 5xx, 429/420, row locks)
- ``session``    the access token expired: log in again once, then retry
- ``budget``     the org's API allowance is spent: stop the cycle cleanly
- ``config``     something in the org or the config is wrong: fail, say what to fix
- ``permanent``  this request or record is refused as sent: report, don't retry

Anything the table does not know is ``permanent``: retrying an unknown error burns
API calls without a reason to expect a different answer.

Each failure also says which of Salesforce's APIs it came from (``api``): the REST API
(every query and write) or the Pub/Sub API (the change event stream, gRPC). An outage of
one is not an outage of the other: a stream that cannot be reached is polled around, and
must not be said (or counted, on /healthz and in `status`) as Salesforce unavailable.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any, Literal

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

Kind = Literal["transient", "session", "budget", "config", "permanent"]
Api = Literal["rest", "pubsub"]


@dataclass(frozen=True, slots=True)
class Failure:
    kind: Kind
    code: str
    message: str
    fix: str | None = None
    status: int | None = None
    fields: tuple[str, ...] = ()
    retry_after: float | None = None  # seconds, when the server said so
    api: Api = "rest"  # which of Salesforce's APIs failed: REST, or the Pub/Sub API (the change event stream)

    def describe(self) -> str:
        text = f"{self.code}: {self.message}" if self.message else self.code
        return f"{text} — fix: {self.fix}" if self.fix else text


class ConnectorError(Exception):
    """Base of every error the connector raises; carries the classified `failure`."""

    def __init__(self, failure: Failure, *, context: str | None = None):
        self.failure = failure
        self.context = context
        where = f"{context}: " if context else ""
        super().__init__(where + failure.describe())

    @property
    def code(self) -> str:
        return self.failure.code

    @property
    def fix(self) -> str | None:
        return self.failure.fix


class TransientError(ConnectorError):
    """Retries were exhausted on a fault that is usually temporary; try again next cycle."""


class SessionError(ConnectorError):
    """The session could not be renewed (a fresh token was refused too)."""


class BudgetExceeded(ConnectorError):
    """The API allowance (ours or the org's) is spent; the cycle should stop cleanly."""


class ConfigError(ConnectorError):
    """The org or the config needs a change; `fix` says which."""


class RecordError(ConnectorError):
    """Salesforce refused this request or record as sent; retrying will not help."""


_EXCEPTION_FOR_KIND: dict[str, type[ConnectorError]] = {
    "transient": TransientError,
    "session": SessionError,
    "budget": BudgetExceeded,
    "config": ConfigError,
    "permanent": RecordError,
}


def as_exception(failure: Failure, *, context: str | None = None) -> ConnectorError:
    return _EXCEPTION_FOR_KIND[failure.kind](failure, context=context)


# --- the table -------------------------------------------------------------------

TRANSIENT_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "QUERY_TIMEOUT",
        "REQUEST_RUNNING_TOO_LONG",
        "TOO_MANY_REQUESTS",
        "CONCURRENT_REQUEST_LIMIT_EXCEEDED",  # concurrent long-running request limit
        "TXN_SECURITY_METERING_ERROR",
    }
)
SESSION_CODES = frozenset({"INVALID_SESSION_ID", "INVALID_AUTH_HEADER"})
BUDGET_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "TOTAL_REQUESTS_LIMIT_EXCEEDED"})

# Codes that mean the org or the config is wrong, with the fix a person can make.
CONFIG_FIXES: dict[str, str] = {
    "INVALID_FIELD": (
        "a field in the mapping does not exist or is hidden from the integration user: deploy the "
        "custom fields under salesforce/ and grant field-level security, or correct the mapping"
    ),
    "INVALID_TYPE": (
        "the object does not exist or the integration user cannot see it: check the object name in "
        "the mapping and the user's profile/permission set object permissions"
    ),
    "INSUFFICIENT_ACCESS": (
        "the integration user lacks permission: grant it in its permission set (object Read/Edit, "
        "field-level security) or the sharing settings"
    ),
    "INSUFFICIENT_ACCESS_OR_READONLY": (
        "the integration user cannot edit this record or field: grant Edit on the object and "
        "field-level security, or check sharing"
    ),
    "INVALID_FIELD_FOR_INSERT_UPDATE": (
        "a mapped field is read-only (formula, system or not updateable): remove it from the write "
        "mapping or make it editable in the org"
    ),
    "API_DISABLED_FOR_ORG": "the org's edition has no API access: enable API access or use a different org",
    "API_CURRENTLY_DISABLED": "API access is disabled for this user: tick 'API Enabled' on its profile or permission set",
    "FUNCTIONALITY_NOT_ENABLED": "a feature this needs is not enabled in the org: enable it in Setup",
    "NO_MASS_MAIL_PERMISSION": (
        "the org sends no email from the API (Setup → Deliverability → Access level is 'System email only' "
        "or 'No access'): set it to 'All email', or tell reps by Salesforce notification instead "
        "([notifications] offer_alert = \"custom\" and mode = \"custom\")"
    ),
    "SINGLE_EMAIL_LIMIT_EXCEEDED": (
        "the org's daily allowance of single emails to external addresses (SingleEmail in /limits; 5,000 a day, "
        "far fewer in a Developer Edition or trial) is spent until midnight GMT: emails resume then, and those "
        "refused are not sent again. Ask Salesforce to raise it, or tell reps by Salesforce notification "
        "([notifications] offer_alert = \"custom\" and mode = \"custom\")"
    ),
    "NOT_FOUND": "the resource does not exist in this org or API version: check api_version and the object names",
    "MALFORMED_QUERY": "the query is invalid: check the field names and the `where` filter in the mapping",
    "INVALID_QUERY_FILTER_OPERATOR": "a filter uses an operator the field type does not support: fix the mapping's `where` filter",
    "UNSUPPORTED_API_VERSION": "the org does not support this api_version: lower `api_version` in the connector config",
    # OAuth token endpoint errors
    "invalid_client_id": "the connected app's consumer key is wrong: copy `client_id` from the connected app",
    "invalid_client": "the client secret does not match the connected app: update the secret the config references",
    "invalid_grant": (
        "the login was refused: check the username, that the user is pre-authorised for the "
        "connected app (Manage Policies → Admin approved users), the certificate, the audience/login URL, "
        "and that the refresh token was not revoked"
    ),
    "unsupported_grant_type": "this grant type is not enabled for the connected app: enable the OAuth flow in its settings",
    "invalid_request": "the token request was malformed: check login_url and the auth settings",
    "inactive_user": "the integration user is inactive: reactivate it in Setup → Users",
    "inactive_org": "the org is locked or inactive: contact the org's administrator",
    "rate_limit_exceeded": "too many logins in a short time: wait, then check nothing is logging in in a loop",
}

# Per-record codes whose fix is the person's, not the connector's (still permanent).
RECORD_HINTS: dict[str, str] = {
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "a validation rule in the org rejected the values",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": (
        "a picklist value is not allowed: one leadrouter writes comes with its salesforce/ package (deploy this "
        "release's: `sf project deploy start --source-dir salesforce/force-app --target-org <your org>`); "
        "else add it to the picklist or fix the mapping's value map"
    ),
    "ENTITY_IS_DELETED": "the record was deleted in the org",
    "INVALID_CROSS_REFERENCE_KEY": "a referenced id (owner, partner account) does not exist or is not visible",
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": "the integration user cannot see the referenced owner/account: check sharing",
    "MALFORMED_ID": "an id is not a valid Salesforce id",
    "REQUIRED_FIELD_MISSING": "a required field is empty",
    "STRING_TOO_LONG": "a text value exceeds the field's length",
    "DUPLICATE_VALUE": "a unique field already holds this value on another record",
    "CANNOT_UPDATE_CONVERTED_LEAD": "the lead was converted and can no longer be updated",
    "ENTITY_IS_LOCKED": "the record is locked (approval process)",
}


# Salesforce's answer to an id it does not take in a query (cut short, a character mistyped,
# its three check letters not fitting the first 15), under INVALID_QUERY_FILTER_OPERATOR.
INVALID_ID = re.compile(r"invalid ID field: \S*")
INVALID_ID_FIX = "the query names an id Salesforce does not take: check where the id was copied from (all 15 or 18 characters)"


# urllib3's words for a host name DNS does not know (inside a requests.ConnectionError)
_UNRESOLVED = re.compile(r"host='([^']+)'.*(?:NameResolutionError|Failed to resolve|Name or service not known|"
                         r"nodename nor servname|getaddrinfo failed)", re.S)


# The token endpoint's invalid_grant, by its error_description: the fix for that cause.
INVALID_GRANT_FIXES: dict[str, str] = {
    "audience is invalid": (
        "the JWT's audience is not this login server: for a sandbox use login_url https://test.salesforce.com "
        "(or the sandbox's My Domain), for production https://login.salesforce.com or your My Domain; "
        "[salesforce.auth] audience overrides it"
    ),
    "hasn't approved this consumer": (
        "the username is not a user of this org, or it is not pre-authorised for the connected app: check "
        "[salesforce.auth] username; in the connected app's Manage → Edit Policies choose 'Admin approved users "
        "are pre-authorized' and add the user's profile or permission set"
    ),
    "invalid assertion": (
        "the JWT was signed with a key whose certificate the connected app does not have: upload the certificate "
        "of private_key_file (or point private_key_file at the key of the uploaded certificate)"
    ),
    "authentication failure": (
        "the username, password or security token is wrong (a password reset issues a new security token), "
        "or the login is outside the profile's IP ranges"
    ),
    "expired authorization code": (
        "the JWT assertion lives 3 minutes from the time it is stamped with and had expired on Salesforce's clock: "
        "this host's clock is behind Salesforce's; set it right and keep it synchronised (NTP: "
        "`timedatectl set-ntp true`, chrony or ntpd; a container takes its host's clock)"
    ),
    "inactive user": "the integration user is deactivated: reactivate it (Setup → Users)",
    "expired access/refresh token": "the refresh token was revoked or expired: authorise again and store the new one",
}


def _kind_for_code(code: str, status: int | None) -> Kind | None:
    if code in TRANSIENT_CODES:
        return "transient"
    if code in SESSION_CODES:
        return "session"
    if code in BUDGET_CODES:
        return "budget"
    if code in CONFIG_FIXES:
        return "config"
    if code.startswith("INSUFFICIENT_ACCESS") and code not in RECORD_HINTS:
        return "config"
    return None


def _kind_for_status(status: int) -> Kind:
    if status in (408, 420, 429) or status >= 500:
        return "transient"
    if status == 401:
        return "session"
    if status == 403:
        return "config"
    return "permanent"


def _first_error(content: Any, depth: int = 0) -> tuple[str | None, str, tuple[str, ...]]:
    """(code, message, fields) from any of Salesforce's error body shapes — or from junk."""
    if isinstance(content, (bytes, bytearray)):
        content = content.decode("utf-8", "replace")
    if isinstance(content, list) and content:
        content = content[0]
    if isinstance(content, dict):
        nested = content.get("errors")
        if not content.get("errorCode") and isinstance(nested, list) and nested and depth < 3:
            return _first_error(nested, depth + 1)  # a SaveResult or action result wrapping its errors
        code = content.get("errorCode") or content.get("statusCode") or content.get("error")
        message = content.get("message") or content.get("error_description") or ""
        raw_fields = content.get("fields")
        fields = tuple(str(f) for f in raw_fields) if isinstance(raw_fields, list) else ()
        message = str(message)
        bad_id = INVALID_ID.search(message)  # after the query echoed back, which says nothing more
        return (str(code) if isinstance(code, (str, int)) and code != "" else None), \
            (bad_id.group() if bad_id else message[:1000]), fields
    if isinstance(content, str):
        return None, content.strip()[:500], ()
    return None, "", ()


def error_list(errors: Any) -> list[dict[str, Any]]:
    """The `errors` of a SaveResult or action result as a non-empty list of dicts."""
    if isinstance(errors, list):
        found = [e for e in errors if isinstance(e, dict)]
        if found:
            return found
    detail = "no error detail" if not errors else str(errors)[:300]
    return [{"statusCode": "UNKNOWN", "message": detail}]


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait, from Retry-After: a number of seconds, or an HTTP date counted from
    the response's own Date header (Salesforce's clock; the host's may be hours off)."""
    raw = headers.get("Retry-After") if headers is not None else None
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        until, sent = parsedate_to_datetime(str(raw)), parsedate_to_datetime(str(headers.get("Date") or ""))
        return max(0.0, (until - sent).total_seconds())
    except (TypeError, ValueError):  # not a date, or no Date to count from
        return None


def _from_parts(status: int | None, content: Any, headers: Any = None) -> Failure:
    code, message, fields = _first_error(content)
    kind = _kind_for_code(code, status) if code else None
    if kind is None:
        kind = _kind_for_status(status) if status is not None else "permanent"
    if not code:
        code = f"HTTP_{status}" if status is not None else "UNKNOWN"
    fix = CONFIG_FIXES.get(code) if kind == "config" else RECORD_HINTS.get(code)
    if code == "invalid_grant":  # what Salesforce said names the cause: its fix, not every cause's
        fix = next((f for said, f in INVALID_GRANT_FIXES.items() if said in message.lower()), fix)
    if INVALID_ID.match(message):  # the id, not the operator: an id cut short or mistyped
        fix = INVALID_ID_FIX
    if kind == "session":
        fix = (
            "if a fresh login is refused too: check the connected app's session policies (IP "
            "relaxation, session timeout, 'Admin approved users') and that the user is active"
        )
    if kind == "config" and fix is None:
        fix = "the integration user is refused this request: check its profile/permission set and the org's API access"
    return Failure(kind, code, message, fix, status, fields, _retry_after(headers))


# Pub/Sub API (gRPC) statuses. A replay id Salesforce no longer keeps is its own code:
# the subscriber answers it with a reconciliation read, never a retry.
REPLAY_ID_UNAVAILABLE = "REPLAY_ID_UNAVAILABLE"
# the Pub/Sub API not reached at all (nothing listens, a blackholed address, TLS never answered)
_GRPC_UNREACHABLE = frozenset(("UNAVAILABLE", "DEADLINE_EXCEEDED"))
PUBSUB_UNREACHABLE_FIX = ("check that this host reaches [stream] pubsub_url (Salesforce's is "
                          "api.pubsub.salesforce.com:7443; the local sandbox org's is in its connection.json), or set "
                          "[stream] mode = \"poll\" not to subscribe; meanwhile the lead stream is polled and nothing is lost")
_GRPC_TRANSIENT = frozenset(("UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_EXHAUSTED", "ABORTED", "UNKNOWN"))
_GRPC_FIXES = {
    "NOT_FOUND": (
        "the change event topic does not exist for this org: select Lead and Account for Change Data "
        "Capture (deploy salesforce/ — platformEventChannelMembers — or Setup → Change Data Capture)"
    ),
    "PERMISSION_DENIED": (
        "the integration user may not subscribe to change events: grant Read on Lead and Account and the "
        "'View All Data' or the object permissions change events need (see salesforce/README.md)"
    ),
}


def _from_grpc(fault: Any) -> Failure:
    status = fault.code()
    name = getattr(status, "name", str(status))
    message = str(fault.details() or "")[:500]
    trailers = dict(fault.trailing_metadata() or ()) if callable(getattr(fault, "trailing_metadata", None)) else {}
    error_code = str(trailers.get("error-code") or "")
    if "replayid" in error_code:
        return Failure("permanent", REPLAY_ID_UNAVAILABLE, message,
                       "the stored replay id is past the 72-hour retention: read what changed instead (reconciliation)",
                       api="pubsub")
    if name == "UNAUTHENTICATED":
        return Failure("session", error_code or name, message,
                       "if a fresh login is refused too: check the connected app's session policies and the user",
                       api="pubsub")
    if name in _GRPC_UNREACHABLE and not error_code:  # no answer from the Pub/Sub API itself
        return Failure("transient", name, message, PUBSUB_UNREACHABLE_FIX, api="pubsub")
    if name in _GRPC_TRANSIENT:
        return Failure("transient", error_code or name, message, api="pubsub")
    if name in _GRPC_FIXES:
        return Failure("config", error_code or name, message, _GRPC_FIXES[name], api="pubsub")
    return Failure("permanent", error_code or name, message, api="pubsub")


def classify(fault: Any) -> Failure:
    """Decide what a fault means. Accepts exceptions, responses and error dicts."""
    if isinstance(fault, ConnectorError):
        return fault.failure
    grpc = sys.modules.get("grpc")  # only a Pub/Sub subscriber loads it, and only it raises its errors
    if grpc is not None and isinstance(fault, grpc.RpcError) and callable(getattr(fault, "code", None)):
        return _from_grpc(fault)
    if isinstance(fault, SalesforceAuthenticationFailed):
        code = str(fault.code or "invalid_grant")
        kind: Kind = "transient" if code.startswith("HTTP_5") else "config"
        return Failure(kind, code, fault.auth_message, CONFIG_FIXES.get(code), None)
    if isinstance(fault, SalesforceError):
        return _from_parts(fault.status, fault.content)
    if isinstance(fault, requests.Response):
        try:
            body: Any = fault.json()
        except ValueError:
            body = fault.text
        return _from_parts(fault.status_code, body, fault.headers)
    if isinstance(fault, requests.HTTPError) and fault.response is not None:
        return classify(fault.response)
    if isinstance(fault, requests.exceptions.SSLError):
        # A certificate the bundle does not vouch for will not start vouching on a retry.
        return Failure("config", "SSLError", str(fault)[:300],
                       "the server's TLS certificate is not trusted: set [salesforce] ca_bundle to the CA that "
                       "signed it (the local sandbox's is in its connection.json); verification stays on")
    if isinstance(fault, (requests.Timeout, requests.ConnectionError)):
        unresolved = _UNRESOLVED.search(str(fault))
        if unresolved:  # a misspelt My Domain far more often than DNS down: said, not urllib3's words
            host = unresolved.group(1)
            return Failure("transient", "NameResolutionError", f"the host name {host} does not resolve (DNS has no "
                           "such name)", f"check the URL that names {host} ([salesforce] login_url: Setup → My "
                           "Domain shows your org's address); if it is right, this host's DNS is not answering")
        return Failure("transient", type(fault).__name__, str(fault)[:300])
    if isinstance(fault, requests.exceptions.ChunkedEncodingError):
        return Failure("transient", "ChunkedEncodingError", str(fault)[:300])
    if isinstance(fault, dict):  # one SaveResult error or an OAuth error body
        return _from_parts(None, fault)
    if isinstance(fault, ValueError) and "JSON" in type(fault).__name__ + str(fault):
        # A truncated body from a dropped connection.
        return Failure("transient", "BAD_RESPONSE_BODY", str(fault)[:300])
    return Failure("permanent", type(fault).__name__, str(fault)[:300])
