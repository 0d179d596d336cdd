"""Errors of the AI engine, each with a message for a person."""
from __future__ import annotations

from core.errors import DomainError


class AIProviderError(DomainError):
    """The provider could not be reached, refused us, or kept failing after our retries."""

    def __init__(self, message: str, *, kind: str = "error", status: int | None = None, attempts: int = 0):
        super().__init__(message)
        self.kind = kind  # rate_limited, server_error, timeout, connection, refused, auth, bad_response
        self.status = status
        self.attempts = attempts


class AIOutputError(DomainError):
    """The AI answered, but not with usable output (malformed, off-schema or cut off), even after retries."""

    def __init__(self, message: str, *, attempts: int = 0):
        super().__init__(message)
        self.attempts = attempts


class OutputRejected(ValueError):
    """One answer failed our checks (internal: triggers a retry of the call)."""
