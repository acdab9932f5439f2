"""The one error convention of the API.

Every failure a client can act on is a GraphQL error whose ``extensions.code`` is an
:class:`ErrorCode`; input errors also name the offending ``field``. Domain code raises
:class:`DomainError` from anywhere (resolvers, services, permission classes); the transaction
around a mutation rolls back, so a failed mutation changes nothing. Anything else is a bug: it is
logged and, outside development, reaches the client only as ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    INVALID_STATE = "INVALID_STATE"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    CURSOR_EXPIRED = "CURSOR_EXPIRED"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class DomainError(Exception):
    """An error the client caused and can understand; ``details`` land in ``extensions``."""

    def __init__(
        self, code: ErrorCode, message: str, *, field: str | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        """Read by graphql-core when it wraps this exception into a GraphQLError."""
        extensions: dict[str, Any] = {"code": self.code.value, **self.details}
        if self.field is not None:
            extensions["field"] = self.field
        return extensions


def unauthenticated(message: str = "Sign in to do this.", **details: Any) -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, message, **details)


def forbidden(message: str = "You are not allowed to do this.") -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message)


def not_found(what: str) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found.")


def bad_input(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, message, field=field)
