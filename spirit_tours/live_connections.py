"""The graphql-transport-ws handler: live caps, and room subscriptions handed to the fan-out.

A connection over its owner's cap is closed with 4429 and a reason at ``connection_init``; an
operation over its user's cap is answered with an ``error`` message (``RATE_LIMITED``) and
never runs; both counts are released when the connection or the operation ends, however.

Every operation runs through the schema with a :class:`~spirit_tours.realtime.handoff.
LiveHandoff` as root value. A room subscription's resolver checks access and hands itself over:
the operation then lives in the fan-out as a ``LiveSubscription`` (no task of its own), its
frames written by the connection's :class:`~spirit_tours.realtime.fanout.SocketWriter`, until
the client completes it, the connection ends, the room closes for it (NOT_FOUND) or the client
falls too far behind (CONFLICT: resume from the last cursor).
"""

from __future__ import annotations

import uuid
from contextlib import aclosing, suppress

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    ConnectionInitMessage,
)

from spirit_tours.context import Context
from spirit_tours.graphql_ws import TransportWSHandler
from spirit_tours.realtime import handoff as handoffs
from spirit_tours.realtime.fanout import SOCKETS, LiveSubscription, SocketWriter
from spirit_tours.realtime.limits import TOO_MANY_CONNECTIONS_CLOSE_CODE, TooManyConnectionsError


class LimitedTransportWSHandler(TransportWSHandler):
    _writer: SocketWriter | None = None
    _live: dict[str, LiveSubscription] | None = None

    async def handle(self) -> None:
        SOCKETS.inc()
        try:
            await super().handle()
        finally:
            SOCKETS.dec()
            self.context.services.live_limits.release_socket(id(self.context.request.scope))

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except TooManyConnectionsError as refusal:
            await self.websocket.close(code=TOO_MANY_CONNECTIONS_CLOSE_CODE, reason=refusal.reason)

    @property
    def writer(self) -> SocketWriter:
        """The connection's writer of live frames, made at its first room subscription."""
        if self._writer is None:
            self._writer = SocketWriter(self.context.request.send_text)  # type: ignore[union-attr]
            self._writer.on_overflow = self._fell_behind
        return self._writer

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # The socket's context outlives its operations: each one reads the data as it is now,
        # never rows an earlier operation on this socket loaded.
        self.context.refresh_loaders()
        viewer = self.context.viewer
        user_id: uuid.UUID | None = viewer.user_id if viewer is not None else None
        limits = self.context.services.live_limits
        if user_id is not None:
            refusal = limits.take_operation(user_id)
            if refusal is not None:
                error = GraphQLError(refusal.message, extensions=refusal.extensions)
                await operation.send_initial_errors([error])
                return
        handoff = handoffs.LiveHandoff(
            self.context.services.fanout,
            self.writer,
            handoffs.Operation(
                operation.id, operation.query, operation.variables, operation.operation_name
            ),
        )
        live = False
        try:
            live = await self._run(operation, handoff)
        finally:
            if not live:
                handoff.abandon()
                if user_id is not None:
                    limits.drop_operation(user_id)

    async def _run(
        self, operation: Operation[Context, None], handoff: handoffs.LiveHandoff
    ) -> bool:
        """strawberry's ``run_operation`` with the handoff as root value; True when the
        operation went live in the fan-out."""
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                root_value=handoff,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            # Still this connection's operation: a ``complete`` (or the connection's end) while
            # it started has forgotten it, even if the cancellation went astray.
            if handoff.accepted:
                if self.operations.get(operation.id) is not operation:
                    return False
                await self._go_live(operation, handoff)
                return True
            await operation.send_operation_message(
                CompleteMessage(id=operation.id, type="complete")
            )
        except _OperationStreamClosed:
            return False
        except Exception as error:  # pragma: no cover - as strawberry's
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise
        return False

    async def _go_live(
        self, operation: Operation[Context, None], handoff: handoffs.LiveHandoff
    ) -> None:
        subscription = handoff.subscription
        assert subscription is not None
        services = self.context.services
        presence = handoff.presence
        member = await services.presence.enter(*presence) if presence is not None else None
        user_id = self.context.viewer.user_id if self.context.viewer is not None else None

        ended = False

        async def on_end() -> None:
            nonlocal ended
            if ended:  # the fan-out and the client may both end it
                return
            ended = True
            if self._live is not None:
                self._live.pop(operation.id, None)
            self.operations.pop(operation.id, None)
            if user_id is not None:
                services.live_limits.drop_operation(user_id)
            if presence is not None and member is not None:
                await services.presence.leave(*presence, member)

        subscription.on_end = on_end
        # What an idle subscription need not keep: the group holds the document, the task
        # ends now, and events are read with the fan-out's loaders.
        operation.query, operation.variables, operation.task = "", None, None
        self.context.refresh_loaders()
        if self._live is None:
            self._live = {}
        self._live[operation.id] = subscription
        services.fanout.go_live(subscription, handoff.missed)

    async def cleanup_operation(self, operation_id: str) -> None:
        subscription = self._live.pop(operation_id, None) if self._live else None
        if subscription is None:
            await super().cleanup_operation(operation_id)
            return
        self.context.services.fanout.remove(subscription)
        if subscription.on_end is not None:
            await subscription.on_end()

    def _fell_behind(self) -> None:
        """The reader is WRITE_QUEUE_LIMIT frames behind: its live subscriptions end with
        CONFLICT, and it resumes each from its last cursor."""
        fanout = self.context.services.fanout
        for subscription in list((self._live or {}).values()):
            fanout.end(subscription, subscription.error_frame())

    async def shutdown(self) -> None:
        await super().shutdown()
        for operation_id in list(self._live or {}):  # whatever the operations no longer hold
            await self.cleanup_operation(operation_id)
