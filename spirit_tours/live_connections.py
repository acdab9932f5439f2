"""The graphql-transport-ws handler with the live caps of ``realtime.limits`` applied.

A connection over its owner's cap is closed with 4429 and a reason at ``connection_init``; an
operation over its user's cap is answered with an ``error`` message (``RATE_LIMITED``) and
never runs; both counts are released when the connection or the operation ends, however.
"""

from __future__ import annotations

import uuid

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from spirit_tours.context import Context
from spirit_tours.graphql_ws import TransportWSHandler
from spirit_tours.realtime.limits import TOO_MANY_CONNECTIONS_CLOSE_CODE, TooManyConnectionsError


class LimitedTransportWSHandler(TransportWSHandler):
    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            self.context.services.live_limits.release_socket(id(self.context.request.scope))

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except TooManyConnectionsError as refusal:
            await self.websocket.close(code=TOO_MANY_CONNECTIONS_CLOSE_CODE, reason=refusal.reason)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        viewer = self.context.viewer
        user_id: uuid.UUID | None = viewer.user_id if viewer is not None else None
        limits = self.context.services.live_limits
        if user_id is not None:
            refusal = limits.take_operation(user_id)
            if refusal is not None:
                error = GraphQLError(refusal.message, extensions=refusal.extensions)
                await operation.send_initial_errors([error])
                return
        try:
            await super().run_operation(operation)
        finally:
            if user_id is not None:
                limits.drop_operation(user_id)
