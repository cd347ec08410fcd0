# Herald in a container: docker build -t herald . && docker run --env-file .env -p 8080:8080 -v herald-data:/data herald
# (or deploy/compose.yml, which also offers Prometheus and Grafana)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////data/herald.db \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

RUN useradd --create-home --uid 10001 herald \
    && mkdir /data && chown herald:herald /data

WORKDIR /app
# Every dependency exactly as locked, hashes checked; then Herald itself, adding nothing.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
# The translation catalogs are compiled here, at build time, and installed with Herald.
RUN python -m babel.messages.frontend compile -D herald -d bot/locales \
    && pip install --no-deps .

USER herald
VOLUME ["/data"]
EXPOSE 8080
# Liveness: the process answers. Not /readyz: a Discord outage is no reason to restart Herald.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"HTTP_PORT\", \"8080\")}/livez', timeout=4)" || exit 1

STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
