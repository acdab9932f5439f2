"""The error convention for errors raised outside any field: what the client's input caused is
BAD_USER_INPUT, anything else is the server's (INTERNAL_SERVER_ERROR, its text masked and
logged). strawberry reports both without a path; these are the errors as it builds them."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError, parse
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from spirit_tours.schema.errors import INTERNAL_MESSAGE, apply_error_policy


def _outside_any_field(failure: Exception) -> GraphQLError:
    """As strawberry reports an exception of a subscription's resolver before its first event,
    or one raised choosing the operation (``schema._coerce_error``)."""
    return GraphQLError(str(failure), original_error=failure)


def test_a_server_failure_outside_any_field_is_masked_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failure = RuntimeError("invalid input for query argument $1 [SQL: SELECT outbox_events…]")
    error = _outside_any_field(failure)
    with caplog.at_level(logging.ERROR, "spirit_tours.core.errors"):
        apply_error_policy(error, mask=True)
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert error.message == INTERNAL_MESSAGE
    assert error.original_error is None
    assert [record.exc_info[1] for record in caplog.records if record.exc_info] == [failure]


def test_input_errors_outside_any_field_stay_bad_user_input() -> None:
    variable = parse("query($id: ID!) { node(id: $id) { id } }").definitions[0]
    inputs = [
        _outside_any_field(RecursionError("variables nested too deeply")),
        _outside_any_field(MissingQueryError()),
        _outside_any_field(CannotGetOperationTypeError("Nope")),
        _outside_any_field(InvalidOperationTypeError(OperationType.MUTATION)),
        # A variable's value that does not coerce: located at its definition.
        GraphQLError("Variable '$id' got invalid value", variable, original_error=ValueError()),
    ]
    for error in inputs:
        message = error.message
        apply_error_policy(error, mask=True)
        assert error.extensions == {"code": "BAD_USER_INPUT"}, message
        assert error.message == message
