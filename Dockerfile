# Groundswell in a container: the same `groundswell` commands as the Procfile.
#   docker build -t groundswell .
#   docker run --env-file groundswell.env -p 8000:8000 groundswell            # web
#   docker run --env-file groundswell.env groundswell groundswell worker      # worker
# compose.yaml runs PostgreSQL, the release step, web, worker and clock together.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY survey_flows ./survey_flows
COPY reports ./reports
RUN pip install . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin groundswell

USER groundswell
EXPOSE 8000
CMD ["sh", "-c", "exec groundswell serve --host 0.0.0.0 --port ${PORT}"]
