# restrat-sync worker image.
#   docker build -t restrat-sync .
#   docker run -e RESTRAT_JIRA_URL=... -v $PWD/config:/app/config -v $PWD/jql:/app/jql \
#              -v restrat-data:/app/data restrat-sync
# Secrets: pass RESTRAT_JIRA_TOKEN / RESTRAT_CONFLUENCE_TOKEN as environment variables, or mount
# files named restrat_jira_token etc. into /run/secrets (Docker/Kubernetes secrets).

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY config ./config
COPY jql ./jql
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

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
    PYTHONUNBUFFERED=1
VOLUME ["/app/config", "/app/jql", "/app/data"]
# exec form: the worker is PID 1 and receives SIGTERM directly.
ENTRYPOINT ["restrat-sync"]
CMD ["run"]
