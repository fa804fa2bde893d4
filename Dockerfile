# syntax=docker/dockerfile:1
# CommandCenter: one image for the worker, the web face and the Home Assistant add-on.
#   docker build -t commandcenter .
#   docker run --rm -p 8000:8000 commandcenter            # the demo site, SQLite in /data
# The compose stack (compose.yaml) adds PostgreSQL, Mosquitto and Prometheus/Grafana.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
WORKDIR /src
# Dependencies first (a layer that survives code changes), then the project itself.
COPY pyproject.toml README.md ./
RUN mkdir -p bot graphs tools knowledge storage \
 && touch bot/__init__.py graphs/__init__.py tools/__init__.py knowledge/__init__.py storage/__init__.py \
 && /venv/bin/pip install ".[all]" \
 && /venv/bin/pip uninstall -y commandcenter
COPY bot ./bot
COPY graphs ./graphs
COPY tools ./tools
COPY knowledge ./knowledge
COPY storage ./storage
RUN /venv/bin/pip install --no-deps . && /venv/bin/python -m compileall -q /venv/lib

FROM python:${PYTHON_VERSION}-slim AS runtime
LABEL org.opencontainers.image.title="CommandCenter" \
      org.opencontainers.image.description="Chat-first operations bot for energy sites" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 commandcenter \
 && useradd --system --uid 10001 --gid commandcenter --home-dir /data --shell /usr/sbin/nologin commandcenter \
 && mkdir -p /data && chown commandcenter:commandcenter /data
COPY --from=build /venv /venv
COPY sites.example.yaml /app/sites.example.yaml
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COMMANDCENTER_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /data
VOLUME ["/data"]
USER commandcenter
EXPOSE 8000 9108
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["python", "-m", "bot.healthcheck"]
ENTRYPOINT ["python", "-m", "bot.entrypoint"]
CMD ["run"]
