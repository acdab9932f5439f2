"""The long-lived collaborators of one server process, created by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from spirit_tours.auth.throttle import LoginThrottle
from spirit_tours.auth.tokens import TokenService
from spirit_tours.config import Settings
from spirit_tours.payments.providers import PaymentProviders
from spirit_tours.persistence.database import SessionFactory, create_engine, create_session_factory
from spirit_tours.realtime.hub import EventHub
from spirit_tours.realtime.presence import Presence
from spirit_tours.realtime.relay import Relay


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    redis: Redis
    tokens: TokenService
    login_throttle: LoginThrottle
    payments: PaymentProviders
    relay: Relay
    hub: EventHub
    presence: Presence

    @classmethod
    def create(cls, settings: Settings, database_url: str, redis_url: str) -> Services:
        engine = create_engine(database_url, pool_size=settings.database_pool_size)
        # A bounded pool: a mass disconnect (every subscription leaving presence at once)
        # waits for connections instead of opening thousands.
        pool = BlockingConnectionPool.from_url(
            redis_url, max_connections=settings.redis_pool_size, timeout=10,
            health_check_interval=30,
        )  # fmt: skip
        redis = Redis(connection_pool=pool)
        sessions = create_session_factory(engine)
        hub = EventHub(sessions, redis_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            redis=redis,
            tokens=TokenService(
                settings.jwt_secret.get_secret_value(), settings.access_token_ttl_seconds
            ),
            login_throttle=LoginThrottle(
                redis,
                max_per_account=settings.login_max_failures_per_account,
                max_per_ip=settings.login_max_failures_per_ip,
                window_seconds=settings.login_failure_window_seconds,
            ),
            payments=PaymentProviders.from_settings(settings),
            relay=Relay(sessions, redis),
            hub=hub,
            presence=Presence(redis, hub),
        )

    async def start(self) -> None:
        """Start the background loops: outbox relay, live hub, presence sweeper."""
        await self.hub.start()
        self.relay.start()
        self.presence.start()

    async def close(self) -> None:
        await self.presence.stop()
        await self.relay.stop()
        await self.hub.stop()
        await self.redis.aclose()
        await self.engine.dispose()
