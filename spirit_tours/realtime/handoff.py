"""How a live subscription moves from its resolver to the fan-out.

The WebSocket handler runs a subscription through the schema as any operation (parsing,
validation, cost, rate limit, the field's permission classes, the resolver's access checks)
with a :class:`LiveHandoff` as root value. The resolver checks access, calls :meth:`listen`
(from then on nothing published in the room is missed), replays what the client missed, and
calls :meth:`accept` instead of producing events itself: the handler then turns the operation
into a :class:`~spirit_tours.realtime.fanout.LiveSubscription` that lives without a task.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from spirit_tours.permissions.viewer import Viewer
from spirit_tours.realtime.fanout import Fanout, LiveSubscription, SocketWriter
from spirit_tours.realtime.hub import StoredEvent


@dataclass(frozen=True)
class Operation:
    """What the client sent: the group key includes all of it."""

    id: str
    query: str
    variables: dict[str, Any] | None
    name: str | None


class LiveHandoff:
    def __init__(self, fanout: Fanout, writer: SocketWriter, operation: Operation) -> None:
        self.fanout = fanout
        self.writer = writer
        self.operation = operation
        self.subscription: LiveSubscription | None = None
        self.missed: list[StoredEvent] = []
        self.presence: tuple[str, Viewer] | None = None
        self.accepted = False

    def listen(self, room: str, query: Hashable, viewer: Viewer) -> None:
        """Route ``room``'s deliveries to this operation from now on (held until accepted);
        ``query`` is what the renderer needs and the key of the subscribers sharing it."""
        assert self.subscription is None, "one room per subscription"
        self.subscription = LiveSubscription(
            writer=self.writer,
            operation_id=self.operation.id,
            room=room,
            query=query,
            user_id=str(viewer.user_id),
            since=self.fanout.hub_position,
        )
        self.fanout.add(self.subscription)

    def accept(self, missed: list[StoredEvent], presence: tuple[str, Viewer] | None) -> None:
        """The subscription started: send ``missed`` first; mark the viewer present in the
        room while it lives (quotation rooms)."""
        assert self.subscription is not None
        self.missed = missed
        self.presence = presence
        self.accepted = True

    def abandon(self) -> None:
        """The start failed or was cancelled after :meth:`listen`: stop routing."""
        if self.subscription is not None:
            self.fanout.remove(self.subscription)
