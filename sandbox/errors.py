"""The one error type the sandbox raises for anything Salesforce would refuse.

It carries what the REST layer needs to answer exactly as Salesforce does: the HTTP
status and the `[{"message", "errorCode", "fields"}]` body.
"""
from __future__ import annotations


class SalesforceError(Exception):
    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None):
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])

    def to_json(self) -> dict:
        """One entry of a top-level error list (REST) - also the shape inside SaveResults."""
        return {"message": self.message, "errorCode": self.error_code, "fields": self.fields}

    def to_save_error(self) -> dict:
        """The shape inside a composite SaveResult's `errors`."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}

    def __repr__(self) -> str:
        return f"SalesforceError({self.status}, {self.error_code!r}, {self.message!r}, {self.fields!r})"


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def entity_is_deleted() -> SalesforceError:
    return SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
