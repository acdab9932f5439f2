"""The long-lived collaborators of one server process, created by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from saq import Queue
from sqlalchemy.ext.asyncio import AsyncEngine

from spirit_tours.auth.revocation import SessionRevocations, SessionWatch
from spirit_tours.auth.throttle import LoginThrottle
from spirit_tours.auth.tokens import AccessClaims, TokenService
from spirit_tours.config import Settings
from spirit_tours.emails.compose import message_id_domain
from spirit_tours.emails.links import LinkSigner
from spirit_tours.emails.queueing import Priority, queue_name
from spirit_tours.jobs.names import MAINTENANCE_QUEUE
from spirit_tours.jobs.queue import JobQueue
from spirit_tours.ml.serving import ModelCache
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.payments.refusals import WebhookRefusals
from spirit_tours.persistence.database import (
    SessionFactory,
    create_engine,
    create_read_session_factory,
    create_session_factory,
)
from spirit_tours.realtime.fanout import Fanout
from spirit_tours.realtime.hub import EventHub
from spirit_tours.realtime.limits import LiveLimits
from spirit_tours.realtime.presence import Presence
from spirit_tours.realtime.relay import Relay
from spirit_tours.redis_clients import redis_client, subscriber_url


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    reads: SessionFactory  # autocommit sessions for the API's reads (loaders, pages)
    redis: Redis
    tokens: TokenService
    revocations: SessionRevocations
    session_watch: SessionWatch
    login_throttle: LoginThrottle
    webhook_refusals: WebhookRefusals
    payments: PaymentProviders
    relay: Relay
    hub: EventHub
    fanout: Fanout
    presence: Presence
    queues: dict[str, Queue]  # every saq queue by name: e-mail lanes and maintenance
    links: LinkSigner
    live_limits: LiveLimits
    models: ModelCache  # the latest trained models, loaded on first use (spirit_tours/ml)

    @property
    def email_queues(self) -> dict[Priority, Queue]:
        return {priority: self.queues[queue_name(priority)] for priority in Priority}

    @property
    def message_id_domain(self) -> str:
        return message_id_domain(self.settings.email_sender)

    @classmethod
    def create(cls, settings: Settings, database_url: str, redis_url: str) -> Services:
        engine = create_engine(
            database_url,
            pool_size=settings.database_pool_size,
            pool_timeout=settings.database_pool_timeout_seconds,
            keyring=settings.keyring(),
        )
        # A bounded pool: a mass disconnect (every subscription leaving presence at once)
        # waits for connections instead of opening thousands.
        redis = redis_client(redis_url, settings, max_connections=settings.redis_pool_size)
        sessions = create_session_factory(engine)
        hub = EventHub(
            sessions,
            subscriber_url(redis_url, settings),
            publish_timeout=settings.redis_socket_timeout_seconds,
        )
        revocations = SessionRevocations(redis, settings.access_token_ttl_seconds)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            reads=create_read_session_factory(engine),
            redis=redis,
            tokens=TokenService(
                settings.jwt_secret.get_secret_value(), settings.access_token_ttl_seconds
            ),
            revocations=revocations,
            session_watch=SessionWatch(revocations),
            login_throttle=LoginThrottle(
                redis,
                max_per_account=settings.login_max_failures_per_account,
                max_per_ip=settings.login_max_failures_per_ip,
                window_seconds=settings.login_failure_window_seconds,
            ),
            webhook_refusals=WebhookRefusals(
                redis, per_minute=settings.webhook_refusals_per_minute
            ),
            payments=PaymentProviders.from_settings(settings),
            relay=Relay(sessions, redis),
            hub=hub,
            fanout=Fanout(hub),
            presence=Presence(redis, hub),
            queues={
                name: JobQueue(redis, name=name)
                for name in (MAINTENANCE_QUEUE, *(queue_name(p) for p in Priority))
            },
            links=LinkSigner(
                settings.email_secret.get_secret_value().encode(), settings.public_url.rstrip("/")
            ),
            live_limits=LiveLimits(
                max_websockets_per_user=settings.max_websockets_per_user,
                max_websockets_per_address=settings.max_websockets_per_address,
                max_subscriptions_per_user=settings.max_subscriptions_per_user,
                database_concurrency=settings.live_database_concurrency,
                start_timeout_seconds=settings.database_pool_timeout_seconds,
            ),
            models=ModelCache(sessions, settings.ml_reload_seconds),
        )

    async def authenticate(self, token: str) -> AccessClaims:
        """A genuine, unexpired token of a session that has not ended, or UNAUTHENTICATED."""
        claims = self.tokens.decode(token)
        await self.revocations.check(claims.session_id)
        return claims

    async def start(self) -> None:
        """Start the background loops: outbox relay, live hub, presence and session sweepers."""
        await self.hub.start()
        self.fanout.start()
        self.relay.start()
        self.presence.start()
        self.session_watch.start()

    async def close(self) -> None:
        await self.session_watch.stop()
        await self.presence.stop()
        await self.fanout.stop()
        await self.relay.stop()
        await self.hub.stop()
        await self.redis.aclose()
        await self.engine.dispose()
