"""Settings read from ``SPIRIT_*`` environment variables (and an optional ``.env`` file)."""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from spirit_tours.core.cancellation import parse_cancellation_policy
from spirit_tours.core.crypto import KEY_BYTES, KeyConfigurationError, Keyring, development_keyring
from spirit_tours.core.errors import DomainError
from spirit_tours.core.payment_routes import parse_routes
from spirit_tours.network_settings import (
    cors_origin_problem,
    forwarded_ips_problem,
    normalize_origin,
    public_url_problem,
)

_KEYS_NEEDED = (
    f"SPIRIT_ENCRYPTION_KEYS must be set outside development: id:base64key with a {KEY_BYTES}-"
    "byte key (`spirit-tours generate-key` prints one)"
)


# Where a front end's dev server runs: Vite (`vite`, `vite preview`) and Create React App / Next.
DEVELOPMENT_CORS_ORIGINS = tuple(
    f"http://{host}:{port}" for port in (5173, 4173, 3000) for host in ("localhost", "127.0.0.1")
)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the server. Secrets have no default: see :meth:`secured`."""

    # An empty variable counts as unset (docker-compose passes optional secrets as "").
    model_config = SettingsConfigDict(
        env_prefix="SPIRIT_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    # Production unless asked otherwise (`serve --demo`, `make run`): see secured().
    env: Environment = Environment.PRODUCTION
    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://… ; unset: embedded PostgreSQL under data_dir",
    )
    redis_url: str | None = Field(
        default=None, description="redis://… ; unset: embedded Redis under data_dir"
    )
    data_dir: Path = Path(".spirit-tours")
    jwt_secret: SecretStr = SecretStr("")  # empty: unset (secured() refuses or generates it)
    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=30, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    max_query_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=5000, ge=100)
    max_fragment_spreads: int = Field(
        default=100, ge=0, description="Fragment spreads in one GraphQL document"
    )
    max_expanded_selections: int = Field(
        default=2000, ge=10, description="Fields and spreads of an operation, fragments expanded"
    )
    max_same_name_fields: int = Field(
        default=20, ge=1, description="Fields merged at one response path of an operation"
    )
    max_input_list_items: int = Field(
        default=500, ge=1, description="Items of one list in GraphQL input (variables or literal)"
    )
    max_query_cost: int = Field(
        default=25_000, ge=1, description="Static cost budget of one GraphQL operation"
    )
    persisted_queries_max_documents: int = Field(
        default=10_000, ge=0, description="Automatic persisted queries kept per process (LRU)"
    )
    persisted_queries_max_bytes: int = Field(
        default=16 * 1024 * 1024, ge=0, description="Their total size per process"
    )
    persisted_queries_max_document_bytes: int = Field(
        default=32 * 1024, ge=0, description="The largest document kept (larger ones still run)"
    )
    rate_limit_points: int = Field(
        default=250_000,
        ge=0,
        description="Cost points per viewer (user, or client address) and minute; 0: no limit",
    )
    rate_limit_redis_timeout_seconds: float = Field(
        default=0.25, gt=0, description="Past this the rate limit is not checked (fail-open)"
    )
    response_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Longest a cached GraphQL answer is served (the clock moves deadlines); "
        "0 turns the response cache off",
    )
    response_cache_entries: int = Field(
        default=2000, ge=1, description="GraphQL answers kept in the response cache per process"
    )
    response_cache_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="Bytes of JSON kept in the response cache per process",
    )
    web_workers: int | None = Field(
        default=None,
        ge=1,
        description="serve's API server processes (--workers); unset: 1 in development, else "
        "the CPUs this process may run on",
    )
    database_pool_size: int = Field(default=10, ge=1)
    database_pool_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Waiting this long for a pool connection fails with SERVICE_UNAVAILABLE",
    )
    max_websockets_per_user: int = Field(
        default=10, ge=1, description="WebSocket connections per signed-in user and process"
    )
    max_websockets_per_address: int = Field(
        default=20, ge=1, description="Anonymous WebSocket connections per client address"
    )
    max_subscriptions_per_user: int = Field(
        default=100, ge=1, description="Subscriptions at once per user (all connections)"
    )
    websocket_compression: bool = Field(
        default=False,
        description="Negotiate permessage-deflate with WebSocket clients that offer it (about "
        "49 KiB of zlib state per connection, each frame compressed once per socket)",
    )
    live_database_concurrency: int = Field(
        default=5, ge=1, description="Subscription database work at once per process"
    )
    redis_pool_size: int = Field(default=64, ge=4, description="Redis connections per process")
    redis_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, description="Connecting to Redis gives up after this long"
    )
    redis_socket_timeout_seconds: float = Field(
        default=5.0,
        ge=2,
        description="A Redis command gives up after this long (a stalled server never hangs)",
    )
    graphiql: bool | None = Field(
        default=None,
        description="Serve GraphiQL to browsers at GET /graphql (its files under /graphiql/); "
        "unset: off in production, on otherwise",
    )
    introspection: bool | None = Field(
        default=None,
        description="Answer the introspection fields __schema and __type (GraphiQL's docs and "
        "completion use them); unset: off in production, on otherwise",
    )
    seed_demo: bool = Field(
        default=True, description="serve: load the demo data into an empty database"
    )
    deposit_percent: Decimal = Field(
        default=Decimal(30), gt=0, lt=100, description="Default booking deposit, in percent"
    )
    deposit_due_days: int = Field(
        default=3, ge=0, description="Days after booking the deposit is due"
    )
    balance_due_days_before_start: int = Field(
        default=30, ge=0, description="Days before the trip the balance is due"
    )
    cancellation_policy: str = Field(
        default="30:100,14:50,7:25",
        description="Default refund tiers: days before the start : percent refunded",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where browsers reach this server; required in production, derived from "
        "serve's --host/--port in development",
    )
    # Payment providers: a provider is used only when its credentials are set.
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_use_checkout: bool = Field(
        default=False, description="Cards through Stripe Checkout (redirect) instead of Elements"
    )
    mercadopago_access_token: SecretStr | None = None
    mercadopago_webhook_secret: SecretStr | None = None
    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    paypal_webhook_id: str | None = None
    paypal_sandbox: bool = True
    payu_api_key: SecretStr | None = None
    payu_api_login: str | None = None
    payu_merchant_id: str | None = None
    payu_account_ids: dict[str, str] = Field(
        default_factory=dict, description='PayU account per country, JSON: {"CO": "512321"}'
    )
    payu_base_url: str = "https://sandbox.api.payulatam.com"
    payu_test: bool = True
    offline_payments_secret: SecretStr = SecretStr("")  # development only; see secured()
    payment_routes: str | None = Field(
        default=None, description="Payment routing rules as JSON; unset: the default table"
    )
    payment_provider_timeout_seconds: float = Field(default=10.0, gt=0)
    payment_webhook_tolerance_seconds: int = Field(default=300, ge=1)
    payment_hold_minutes: int = Field(
        default=30,
        ge=1,
        le=7 * 24 * 60,
        description="How long an unpaid payment holds its booking before it expires",
    )
    # E-mail
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:password@host:port (or smtps://); unset: .eml files in "
        "<data_dir>/outbox",
    )
    smtp_pool_size: int = Field(
        default=8, ge=1, le=100, description="SMTP connections one worker process keeps open"
    )
    smtp_max_messages_per_connection: int = Field(
        default=100, ge=1, description="Messages sent over one SMTP connection before QUIT"
    )
    smtp_idle_seconds: float = Field(
        default=10.0, gt=0, description="An SMTP connection idle this long says QUIT"
    )
    email_sender: str = Field(
        default="Spirit Tours <no-reply@spirit-tours.example>", description="From: of every mail"
    )
    email_secret: SecretStr = Field(
        default=SecretStr(""), description="Signs tracking, click and unsubscribe links"
    )
    app_url: str | None = Field(
        default=None, description="The web front end linked from e-mails; unset: public_url"
    )
    email_send_timeout_seconds: int = Field(
        default=60, ge=1, description="A send still running after this is retried elsewhere"
    )
    email_retry_delay_seconds: float = Field(
        default=60.0, gt=0, description="Pause before the 2nd attempt; doubled before the 3rd"
    )
    job_sweep_seconds: int = Field(
        default=60, ge=1, description="How often workers look for jobs of crashed workers"
    )
    analytics_refresh_minutes: int = Field(
        default=5,
        ge=1,
        le=60,
        description="How often the workers refresh the analytics rollups the reports read",
    )
    password_reset_ttl_minutes: int = Field(default=30, ge=5, le=24 * 60)
    ml_train_cron: str = Field(
        default="40 3 * * *",
        description="When the workers retrain the hotel ranking and net price models (cron, "
        "UTC); ADMIN's trainModels and `spirit-tours train-models` train on demand",
    )
    ml_reload_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a process serves its loaded model before it checks the database "
        "for a newer version (0: at every use)",
    )
    ml_min_currency_rows: int = Field(
        default=30,
        ge=1,
        description="Winning prices a currency needs in the training data before the net price "
        "estimate answers in it",
    )
    run_workers: bool | None = Field(
        default=None,
        description="serve also runs the job and e-mail workers; unset: only when Redis is "
        "embedded",
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="Keys that encrypt sensitive columns: id:base64key,… (32-byte keys; the "
        "first encrypts, all decrypt); unset in development: <data_dir>/encryption.key",
    )
    log_level: str = Field(
        default="info", description="debug, info, warning, error (SQLAlchemy, saq: warning "
        "unless debug)"
    )  # fmt: skip
    log_format: Literal["json", "console"] | None = Field(
        default=None,
        description="json: one JSON object per line (the default); console: readable lines "
        "(the default in development, `make run`)",
    )
    cors_origins: Annotated[tuple[str, ...] | None, NoDecode] = Field(
        default=None,
        description="Web origins whose pages may call the API from a browser (CORS, and the "
        "WebSocket's Origin check): comma-separated or a JSON list; unset: none, in "
        "development the local dev servers (DEVELOPMENT_CORS_ORIGINS)",
    )
    cors_max_age_seconds: int = Field(
        default=600,
        ge=0,
        le=86_400,
        description="How long a browser may keep a CORS preflight's answer (Chrome keeps it "
        "2 hours at most)",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For is trusted (comma-separated, or *)",
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="Bearer token Prometheus sends to /metrics (ADMIN tokens too)"
    )
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the `worker` command's own /metrics (job durations, e-mail and "
        "payment outcomes of its jobs); unset: none",
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1",
        description="Address the worker's /metrics listens on (0.0.0.0 in a container)",
    )
    # The HTTP edge: what one request may cost before the application sees it.
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body (/graphql and others)"
    )
    max_form_bytes: int = Field(
        default=4096, ge=256, description="Largest body posted to the HTML pages (forms)"
    )
    max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Largest request line plus headers"
    )
    request_head_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time a client has to send its request line and headers"
    )
    request_body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time a client has to send the whole request body"
    )
    webhook_refusals_per_minute: int = Field(
        default=30, ge=1, description="Webhooks with a bad signature answered per client address"
    )
    paypal_trust_store: str | None = Field(
        default=None,
        description="PEM roots PayPal's webhook certificates must chain to; unset: certifi's",
    )

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str | None) -> str | None:
        """Accept plain ``postgresql://`` URLs and use asyncpg for them."""
        if value is None or value == "":
            return None
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        return value

    @field_validator("cancellation_policy")
    @classmethod
    def _valid_tiers(cls, value: str) -> str:
        try:
            parse_cancellation_policy(value)
        except DomainError as error:
            raise ValueError(error.message) from error
        return value

    @field_validator("payment_routes")
    @classmethod
    def _valid_routes(cls, value: str | None) -> str | None:
        parse_routes(value)
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> tuple[str, ...] | None:
        """A comma-separated list or a JSON list, each origin as browsers spell it."""
        if value is None:
            return None
        if isinstance(value, str):
            text = value.strip()
            items: object = json.loads(text) if text.startswith("[") else text.split(",")
        else:
            items = value
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise ValueError("SPIRIT_CORS_ORIGINS must be a list of origins")
        origins = (normalize_origin(item) for item in items if item.strip())
        return tuple(dict.fromkeys(origins))

    @field_validator("redis_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    def keyring(self) -> Keyring:
        """The configured keys; in development only, a key of this data folder's own."""
        if self.encryption_keys is not None:
            return Keyring.parse(self.encryption_keys.get_secret_value())
        if self.is_development:
            return development_keyring(Path(self.data_dir))
        raise KeyConfigurationError(_KEYS_NEEDED)

    @property
    def front_end_url(self) -> str:
        return (self.app_url or self.public_url).rstrip("/")

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """The origins whose pages may call the API (``cors_origins``, or its default)."""
        if self.cors_origins is not None:
            return self.cors_origins
        return DEVELOPMENT_CORS_ORIGINS if self.is_development else ()

    @property
    def logs_as(self) -> Literal["json", "console"]:
        """SPIRIT_LOG_FORMAT, else readable lines in development and JSON everywhere else."""
        if self.log_format is not None:
            return self.log_format
        return "console" if self.is_development else "json"

    @property
    def is_development(self) -> bool:
        return self.env == Environment.DEVELOPMENT

    @property
    def serves_graphiql(self) -> bool:
        """GraphiQL at /graphql: as set, else everywhere but production."""
        return self.graphiql if self.graphiql is not None else self.env != Environment.PRODUCTION

    @property
    def allows_introspection(self) -> bool:
        """``__schema`` and ``__type`` answered: as set, else everywhere but production."""
        if self.introspection is not None:
            return self.introspection
        return self.env != Environment.PRODUCTION

    # --- Secure defaults: secrets, public URL -------------------------------------------
    def secured(self) -> Settings:
        """These settings, ready to serve, or :class:`InsecureSettingsError` naming every
        problem.

        In development a missing secret is generated once and kept in
        ``<data_dir>/secrets.json`` (mode 0600), so no secret is a constant of the repository.
        Elsewhere every secret must be set and strong (:func:`secret_problem`), and production
        needs an explicit ``SPIRIT_PUBLIC_URL`` (links in e-mails and payment redirects).
        """
        settings = self
        if self.is_development:
            missing = [name for name in GENERATED_SECRETS if not self._secret(name)]
            if missing:
                from spirit_tours.devsecrets import development_secrets

                stored = development_secrets(self.data_dir, GENERATED_SECRETS)
                update = {name: SecretStr(stored[name]) for name in missing}
                settings = self.model_copy(update=update)
        settings.check_secrets()
        return settings

    def check_secrets(self, *, serving: bool = True) -> None:
        """Refuse missing, short or published secrets outside development (published ones,
        such as the development constants of earlier versions, everywhere), and unsafe network
        settings. ``serving=False`` (the commands other than ``serve`` and ``worker``): what is
        set is checked just the same, but the secrets and public URL only a server uses may be
        left unset."""
        problems: list[str] = []
        for name in (*GENERATED_SECRETS, *OPTIONAL_SECRETS):
            value = self._secret(name)
            if name == "offline_payments_secret" and not self.is_development:
                continue  # the offline gateway exists only in development
            if not value and (name in OPTIONAL_SECRETS or not serving):
                continue
            problem = secret_problem(value, strict=not self.is_development)
            if problem:
                problems.append(f"SPIRIT_{name.upper()} {problem}")
        if self.env == Environment.PRODUCTION:
            if "public_url" not in self.model_fields_set and serving:
                problems.append(
                    "SPIRIT_PUBLIC_URL must be set in production (where browsers reach this "
                    "server: links in e-mails and payment redirects)"
                )
            if self.payu_api_key and self.payu_api_key.get_secret_value() in PUBLIC_SECRETS:
                problems.append("SPIRIT_PAYU_API_KEY is PayU's published sandbox key")
            proxies = forwarded_ips_problem(self.forwarded_allow_ips)
            if proxies:
                problems.append(proxies)
        url_problem = public_url_problem(
            self.public_url, production=self.env == Environment.PRODUCTION
        )
        if url_problem:
            problems.append(url_problem)
        for origin in self.allowed_origins:
            origin_problem = cors_origin_problem(
                origin, production=self.env == Environment.PRODUCTION
            )
            if origin_problem:
                problems.append(origin_problem)
        if not self.is_development and self.encryption_keys is None:
            problems.append(_KEYS_NEEDED)
        if self.encryption_keys is not None:
            # Checked here, not by a pydantic validator: its error would echo the key.
            try:
                self.keyring()
            except KeyConfigurationError as error:
                problems.append(f"SPIRIT_ENCRYPTION_KEYS: {error}")
        if problems:
            raise InsecureSettingsError(problems)

    def _secret(self, name: str) -> str:
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else ""


MIN_SECRET_LENGTH = 32
# Secrets every server process needs; in development they are generated (see secured()).
GENERATED_SECRETS = ("jwt_secret", "email_secret", "offline_payments_secret")
# Checked only when set.
OPTIONAL_SECRETS = ("metrics_token", "stripe_webhook_secret", "mercadopago_webhook_secret")
# Published values, refused whatever the environment: the development constants of earlier
# versions of this repository, and PayU's documented sandbox API key (production only).
PUBLIC_SECRETS = frozenset(
    {
        "spirit-tours-development-secret-change-me",
        "spirit-tours-email-links-dev",
        "spirit-tours-offline-payments-dev",
        "4Vj8eK4rloUd272L48hsrarnUA",
    }
)


def secret_problem(value: str, *, strict: bool) -> str | None:
    """Why ``value`` cannot be a secret (None when it can). ``strict`` (outside
    development): set, at least 32 characters, at least 8 different ones."""
    if value in PUBLIC_SECRETS:
        return "is a published value; generate one with `openssl rand -base64 48`"
    if not strict:
        return None
    if not value:
        return "must be set"
    if len(value) < MIN_SECRET_LENGTH or len(set(value)) < 8:
        return f"is too weak: use at least {MIN_SECRET_LENGTH} random characters"
    return None


class InsecureSettingsError(RuntimeError):
    """The server refuses to start with these settings; ``problems`` says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
