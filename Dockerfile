# The API and worker image: the locked dependencies, no dev tools.
FROM python:3.11-slim
ENV SPIRIT_ENV=production PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY spirit_tours ./spirit_tours
RUN uv sync --locked --no-dev
RUN useradd --system spirit
USER spirit
EXPOSE 8000
CMD ["spirit-tours", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
