"""connector layer — the only code that speaks to Salesforce. See docs/CONTRACTS.md §4.

Entry point: `SalesforceClient.connect(ConnectorConfig(...))`.
"""
from .client import SalesforceClient
from .config import (
    BudgetConfig,
    ClientCredentialsAuth,
    ConnectorConfig,
    JwtBearerAuth,
    NotifyConfig,
    PasswordAuth,
    RefreshTokenAuth,
    RetryConfig,
)
from .errors import (
    BudgetExceeded,
    ConfigError,
    ConnectorError,
    Failure,
    RecordError,
    SessionError,
    TransientError,
    classify,
)
from .notify import Notification, NotifyResult
from .schema import FieldInfo
from .writes import GuardedUpdate, WriteResult

__all__ = [
    "SalesforceClient",
    "ConnectorConfig",
    "JwtBearerAuth",
    "ClientCredentialsAuth",
    "RefreshTokenAuth",
    "PasswordAuth",
    "RetryConfig",
    "BudgetConfig",
    "NotifyConfig",
    "ConnectorError",
    "TransientError",
    "SessionError",
    "BudgetExceeded",
    "ConfigError",
    "RecordError",
    "Failure",
    "classify",
    "GuardedUpdate",
    "WriteResult",
    "Notification",
    "NotifyResult",
    "FieldInfo",
]
