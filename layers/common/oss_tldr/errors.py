"""Domain errors. Each carries its HTTP status and machine code; the API layer maps them in one place.

Logic raises these; it never builds HTTP responses. ``detail`` is a human sentence that is safe to show
(no secrets, no stack traces, no upstream bodies). ``retry_after`` (seconds), when an error has one, is the
one source of the ``Retry-After`` header: :meth:`DomainError.headers` builds it for every error.
"""

from __future__ import annotations


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"
    default_detail: str = "The request could not be processed."
    retry_after: int | None = None  # seconds; set: the answer carries Retry-After

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        self.detail = detail or self.default_detail
        if code is not None:
            self.code = code
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class BadRequest(DomainError):
    status, code, default_detail = 400, "bad_request", "The request is not valid."


class ValidationFailed(DomainError):
    status, code, default_detail = 422, "validation_error", "The request body or parameters are not valid."


class Unauthorized(DomainError):
    status, code, default_detail = 401, "unauthorized", "Authentication is required."


class Forbidden(DomainError):
    status, code, default_detail = 403, "forbidden", "You are not allowed to do this."


class NotFound(DomainError):
    status, code, default_detail = 404, "not_found", "Not found."


class Conflict(DomainError):
    status, code, default_detail = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(DomainError):
    status, code, default_detail = 413, "payload_too_large", "The request body is too large."


class RateLimited(DomainError):
    """Our own quota or an upstream rate limit. ``detail`` must contain the words "rate limit"."""

    status, code, default_detail = 429, "rate_limited", "Rate limit exceeded; try again later."

    def __init__(self, detail: str | None = None, *, retry_after: int = 60, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = max(1, int(retry_after))


class UpstreamUnavailable(DomainError):
    status, code, default_detail = 502, "upstream_unavailable", "An upstream service is unavailable."


class ServiceUnavailable(DomainError):
    status, code, default_detail = 503, "service_unavailable", "The service is temporarily unavailable."


class DatabaseUnavailable(ServiceUnavailable):
    code, default_detail = "database_unavailable", "The database is temporarily unavailable."


class ConfigurationError(RuntimeError):
    """Raised at cold start when the environment is not usable; never shown to clients verbatim."""
