"""Every error proconsul raises on purpose, and the HTTP status each one becomes.

    ProconsulError
    ├── ApiError                 answered to an HTTP client; carries `status` and a plain-text message
    │   ├── BadRequest           400: malformed parameter, body or combination of flags
    │   ├── Unauthorized         401: an ACL-only endpoint while ACLs are disabled
    │   ├── PermissionDenied     403
    │   ├── NotFound             404
    │   ├── MethodNotAllowed     405: carries the allowed methods for the `Allow` header
    │   ├── Conflict             409
    │   ├── PayloadTooLarge      413
    │   └── ServerError          500: a failure Consul also reports as 500 (e.g. no TTL on a check)
    ├── ConfigError              bad flag, config file or config key; the agent refuses to start
    ├── StoreError               the backend could not complete an operation
    ├── ClientError              the HTTP API client got an error answer; carries `status` and `body`
    └── LockError                a client-side lock or semaphore could not be taken, kept or cleaned up
        └── LockInUse            cleaning up a lock or semaphore that someone holds

API errors become responses in exactly one place, proconsul.api.common.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "BadRequest",
    "ClientError",
    "ConfigError",
    "Conflict",
    "LockError",
    "LockInUse",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "ProconsulError",
    "ServerError",
    "StoreError",
    "Unauthorized",
]


class ProconsulError(Exception):
    """Base of every error raised on purpose."""


class ApiError(ProconsulError):
    """An error answered to an HTTP client as `status` with a text/plain body."""

    status = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class PermissionDenied(ApiError):
    status = 403

    def __init__(self, message: str = "Permission denied") -> None:
        super().__init__(message)


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(f"method {method} not allowed")
        self.allowed = allowed


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class ServerError(ApiError):
    status = 500


class ConfigError(ProconsulError):
    """Raised while loading flags and config files; the message names the flag, file or key."""


class StoreError(ProconsulError):
    """Raised by a backend that cannot complete an operation (closed, corrupt, unreachable)."""


class ClientError(ProconsulError):
    """Raised by proconsul.client when the agent answers with a status of 400 or above."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"Unexpected response code: {status} ({body})")
        self.status = status
        self.body = body


class LockError(ProconsulError):
    """Raised by the `proconsul lock` recipes (cli/locks.py) with the wording of Consul's api package."""


class LockInUse(LockError):
    """Raised when destroying a lock or semaphore that still has a holder."""
