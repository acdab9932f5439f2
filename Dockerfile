# The API and worker image: the locked dependencies, without the dev tools and without the
# embedded PostgreSQL and Valkey of `make run` (the `embedded` extra, which only `make install`
# asks for): in a container the servers are always configured (SPIRIT_DATABASE_URL,
# SPIRIT_REDIS_URL). tests/test_image.py checks what this file installs.

# Build: the virtual environment in /opt/venv, the project installed into it (not editable),
# so the image below needs nothing else from this stage.
FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy UV_NO_CACHE=1
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project --no-editable
COPY spirit_tours ./spirit_tours
RUN uv sync --locked --no-dev --no-editable

FROM python:3.11-slim
# SPIRIT_DATA_DIR: the only folder the processes write to (the worker's heartbeat); under /tmp,
# so that Kubernetes can keep the root filesystem read-only and mount an emptyDir there.
ENV SPIRIT_ENV=production SPIRIT_DATA_DIR=/tmp/spirit-tours PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH
COPY --from=build /opt/venv /opt/venv
# A numeric user, so that Kubernetes' runAsNonRoot can tell it is not root.
RUN groupadd --system --gid 10001 spirit \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin spirit
USER 10001
WORKDIR /app
EXPOSE 8000
# The API's liveness (/healthz: the process answers). The worker serves no HTTP: its compose
# service and Kubernetes Deployment replace this with its heartbeat check
# (python -m spirit_tours.jobs.heartbeat).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["spirit-tours", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
