"""Every Redis client the project makes, with connect and read timeouts.

Without them a stalled Redis (SIGSTOP, a black-holed network) hangs whatever awaits it: a login
waited forever. With them each command fails within ``SPIRIT_REDIS_SOCKET_TIMEOUT_SECONDS`` and
each use decides what that means (README "When Redis does not answer"): the login throttle fails
closed, presence, typing and live announcements fail open, e-mail hand-over and the job workers
wait and retry.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis

from spirit_tours.config import Settings

_HEALTH_CHECK_SECONDS = 30
# saq's workers block on BLMOVE for this long, then ask again: a blocking command must return
# before the read timeout (at least 2 s), or an idle worker would see it as a stalled server.
WORKER_DEQUEUE_SECONDS = 1.0


def redis_client(url: str, settings: Settings, *, max_connections: int | None = None) -> Redis:
    """A client whose every command (and connection attempt) gives up in bounded time.

    With ``max_connections`` the pool is a blocking one: a burst waits for a free connection
    instead of opening thousands.
    """
    connect, read = settings.redis_connect_timeout_seconds, settings.redis_socket_timeout_seconds
    if max_connections is None:
        return Redis.from_url(
            url, socket_connect_timeout=connect, socket_timeout=read, socket_keepalive=True,
            health_check_interval=_HEALTH_CHECK_SECONDS,
        )  # fmt: skip
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=10, socket_connect_timeout=connect,
        socket_timeout=read, socket_keepalive=True, health_check_interval=_HEALTH_CHECK_SECONDS,
    )  # fmt: skip
    return Redis(connection_pool=pool)


def subscriber_url(url: str, settings: Settings) -> str:
    """``url`` with a connect timeout, for broadcaster, which builds its client from a URL.

    No read timeout: a quiet subscription would end every few seconds. The live hub's
    heartbeat proves the subscription instead, and bounds its own publishes.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_connect_timeout", str(settings.redis_connect_timeout_seconds))
    query.setdefault("socket_keepalive", "true")
    return urlunsplit(parts._replace(query=urlencode(query)))
