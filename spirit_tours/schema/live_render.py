"""Rendering live events once per group of subscribers (the fan-out's renderer).

A group is a :class:`LiveQuery`: the subscription field and its room, the document, operation
name and variables, and the viewer as the privacy rules read it (``permissions.live.
shared_viewer``). Equal queries see exactly the same fields of every event, so one execution
serves them all and its JSON is written as is to each member. A burst of deliveries is rendered
with one set of DataLoaders: each row is read once, whatever the number of groups.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import ExecutionResult, GraphQLError, execute, parse
from starlette.websockets import WebSocket

from spirit_tours.context import Context
from spirit_tours.core.errors import not_found
from spirit_tours.permissions.live import enters_quotation_room, shared_viewer
from spirit_tours.permissions.viewer import Viewer
from spirit_tours.realtime.fanout import Closed, Outcome, Rendered
from spirit_tours.realtime.handoff import Operation
from spirit_tours.realtime.hub import Delivery, Signal, StoredEvent
from spirit_tours.resolvers.loaders import Loaders
from spirit_tours.schema.live_events import EventView
from spirit_tours.schema.live_types import AnnouncementPosted, LiveEvent, MessagePosted
from spirit_tours.services import Services

QUOTATION_EVENTS = "quotationEvents"
COMPANY_EVENTS = "companyEvents"
HOTEL_EVENTS = "hotelEvents"
ANNOUNCEMENTS = "announcements"


@dataclass(frozen=True)
class LiveQuery:
    """Everything a rendering depends on; subscribers with equal queries share it."""

    field: str
    room: str
    quotation_id: uuid.UUID | None  # quotation rooms: access is checked again on each event
    viewer: Viewer  # as the rules read it: ``shared_viewer``
    query: str
    operation_name: str | None
    variables: str  # canonical JSON
    parsed_variables: dict[str, Any] | None = dataclasses.field(
        default=None, compare=False, hash=False
    )
    # The connection that founded the group: the context's request, never read by a field
    # while an event resolves (only mutations and the request guard read it).
    request: WebSocket | None = dataclasses.field(default=None, compare=False, hash=False)

    @classmethod
    def of(
        cls,
        field_name: str,
        room: str,
        viewer: Viewer,
        operation: Operation,
        request: WebSocket,
        quotation_id: uuid.UUID | None = None,
    ) -> LiveQuery:
        return cls(
            field=field_name,
            room=room,
            quotation_id=quotation_id,
            viewer=shared_viewer(viewer),
            query=operation.query,
            operation_name=operation.name,
            variables=json.dumps(operation.variables or {}, sort_keys=True),
            parsed_variables=operation.variables,
            request=request,
        )

    def admits(self, event: LiveEvent) -> bool:
        """The event types the field's union (or type) carries."""
        if self.field == QUOTATION_EVENTS:
            return not isinstance(event, AnnouncementPosted)
        if self.field == ANNOUNCEMENTS:
            return isinstance(event, AnnouncementPosted)
        return not isinstance(event, AnnouncementPosted | MessagePosted)


#: Parsed documents by text (validated when their subscription started).
_parsed = functools.lru_cache(maxsize=1024)(parse)


_CLOSED = object()


class LiveRenderer:
    def __init__(self, schema: Any, services: Services) -> None:
        self._schema = schema  # the strawberry schema: its graphql-core schema and error policy
        self._services = services

    async def render(self, items: Sequence[tuple[Delivery, int, Any]]) -> list[Outcome]:
        loaders = Loaders(self._services.reads)
        try:
            async with self._services.live_limits.delivery():
                return list(
                    await asyncio.gather(
                        *(
                            self._render(loaders, delivery, position, query)
                            for delivery, position, query in items
                        )
                    )
                )
        finally:
            await loaders.reads.close()

    async def _render(
        self, loaders: Loaders, delivery: Delivery, position: int, query: LiveQuery
    ) -> Outcome:
        context = Context(
            services=self._services,
            request=query.request,  # type: ignore[arg-type]
            viewer=query.viewer,
            _loaders=loaders,
        )
        try:
            event = await self._event(EventView(context, position), delivery, query)
        except Exception as error:  # this group's subscriptions end; they resume by replay
            failed = self._error(error, query)
            return Closed(json.dumps([failed.formatted], separators=(",", ":")))
        if event is _CLOSED:
            closed = self._error(not_found("Quotation"), query)
            return Closed(json.dumps([closed.formatted], separators=(",", ":")))
        if event is None or not query.admits(event):
            return None
        result = execute(
            self._schema._schema,
            _parsed(query.query),
            root_value=event,
            context_value=context,
            variable_values=query.parsed_variables,
            operation_name=query.operation_name,
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return Rendered(self._payload(result))

    async def _event(self, view: EventView, delivery: Delivery, query: LiveQuery) -> Any:
        if query.quotation_id is None:
            return await view.stored(delivery) if isinstance(delivery, StoredEvent) else None
        quotation = await view.quotation(query.quotation_id)
        relation = quotation.scope.relation if quotation is not None else None
        if isinstance(delivery, Signal):
            return await view.signal(delivery, relation) if relation is not None else None
        if relation is None or not enters_quotation_room(relation):
            return _CLOSED  # no longer invited: the room closes
        return await view.stored(delivery)

    def _payload(self, result: ExecutionResult) -> str:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            self._schema.process_errors(result.errors)
            payload["errors"] = [error.formatted for error in result.errors]
        return json.dumps(payload, separators=(",", ":"))

    def _error(self, error: Exception, query: LiveQuery) -> GraphQLError:
        """``error`` as the subscription's field raised it, under the schema's error policy."""
        graphql_error = GraphQLError(str(error), path=[query.field], original_error=error)
        self._schema.process_errors([graphql_error])
        return graphql_error
