# restrat-sync worker image. See docs/deploy.md.
#   docker build -t restrat-sync .
#   docker run -d -p 8080:8080 --env-file restrat.env \
#              -v "$PWD/secrets:/run/secrets:ro" -v "$PWD/config:/app/config:ro" \
#              -v "$PWD/jql:/app/jql:ro" -v restrat-data:/app/data restrat-sync
# Secrets: RESTRAT_JIRA_TOKEN / RESTRAT_CONFLUENCE_TOKEN as environment variables, or files named
# restrat_jira_token etc. in /run/secrets (Docker and Kubernetes secrets).

# --- build: wheels of the package and every dependency ------------------------------------------
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY config ./config
COPY jql ./jql
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

# --- run: the wheels installed without network access, nothing else ------------------------------
FROM python:3.12-slim
RUN useradd --create-home --uid 10001 restrat
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels 'restrat-sync[postgres]' \
    && rm -rf /wheels
WORKDIR /app
COPY --chown=restrat:restrat config ./config
COPY --chown=restrat:restrat jql ./jql
RUN mkdir -p /app/data && chown restrat:restrat /app/data
USER restrat
ENV RESTRAT_CONFIG=/app/config/restrat.yaml \
    RESTRAT_DATA_DIR=/app/data \
    RESTRAT_HEALTH_HOST=0.0.0.0 \
    RESTRAT_HEALTH_PORT=8080 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
VOLUME ["/app/config", "/app/jql", "/app/data"]
EXPOSE 8080
# Slim images have no curl: Python's urllib asks /healthz, and fails on a refusal or a non-2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('RESTRAT_HEALTH_PORT', '8080') + '/healthz', timeout=4)"]
# docker stop sends SIGTERM and waits 10 s: the worker finishes its page transaction and exits 0.
STOPSIGNAL SIGTERM
# exec form: the worker is PID 1 and receives SIGTERM directly.
ENTRYPOINT ["restrat-sync"]
CMD ["run"]
