"""Give every error an ``extensions.code`` and hide unexpected ones outside development.

Applied in ``Schema.process_errors``, which strawberry calls once for every error of every
operation (parse, validation, execution, subscription), so no path escapes the convention.
"""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from spirit_tours.core.errors import DomainError, ErrorCode

log = logging.getLogger("spirit_tours.core.errors")

# graphql-core's suggestion (``did_you_mean``): names between quotes, which never hold a "?".
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")

INTERNAL_MESSAGE = "Internal server error."
REQUEST_REFUSALS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)
"""The request names no operation to run: no query, no operation of that name, a mutation
over GET."""
INPUT_ERRORS = (
    RecursionError,  # variables nested deeper than graphql-core coerces
    *REQUEST_REFUSALS,
)
"""What strawberry reports outside any field, without a node, that a client's input caused."""
BUSY_MESSAGE = "The service is busy; try again shortly."
BUSY_RETRY_AFTER_SECONDS = 5


def _set_code(error: GraphQLError, code: ErrorCode) -> None:
    error.extensions = {**(error.extensions or {}), "code": code.value}


def document_error_code(error: GraphQLError) -> ErrorCode:
    """The code of an error of the document itself (graphql-core's, raised by no resolver):
    it did not parse, or it does not fit the schema."""
    syntax = error.message.startswith("Syntax Error")
    return ErrorCode.GRAPHQL_PARSE_FAILED if syntax else ErrorCode.GRAPHQL_VALIDATION_FAILED


def apply_error_policy(error: GraphQLError, *, mask: bool) -> None:
    """Map one error onto the convention of ``spirit_tours.core.errors``, in place."""
    original = error.original_error
    if isinstance(original, DomainError):
        error.extensions = {**(error.extensions or {}), **original.extensions}
        return
    if error.extensions and "code" in error.extensions:
        return
    if original is None or isinstance(original, GraphQLError):
        _set_code(error, document_error_code(error))
        return
    if isinstance(original, PoolTimeout):
        # No database connection came in time: an overload, not a bug; never its internals.
        log.warning("database pool exhausted at %s: %s", error.path, original)
        error.message = BUSY_MESSAGE
        error.original_error = None
        error.extensions = {
            **(error.extensions or {}),
            "code": ErrorCode.SERVICE_UNAVAILABLE.value,
            "retryAfterSeconds": BUSY_RETRY_AFTER_SECONDS,
        }
        return
    if error.path is None and (error.nodes or isinstance(original, INPUT_ERRORS)):
        # Raised while coercing variables or arguments (a malformed ID, a bad enum), or
        # choosing the operation: input. Other errors outside any field are the server's:
        # strawberry reports a subscription whose resolver raised before its first event so
        # (no field path, no node), and its text can be anything, SQL included.
        _set_code(error, ErrorCode.BAD_USER_INPUT)
        return
    log.error("unexpected error at %s", error.path, exc_info=original)
    _set_code(error, ErrorCode.INTERNAL_SERVER_ERROR)
    if mask:
        error.message = INTERNAL_MESSAGE
        error.original_error = None


def hide_suggestions(error: GraphQLError) -> None:
    """Drop graphql-core's "Did you mean 'quotation'?" from the message, in place: where
    introspection is off, the names of the schema are not told to whoever guesses near them
    (a misspelt field, argument, input field, type or enum value)."""
    error.message = _SUGGESTION.sub("", error.message)
