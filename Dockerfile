# Switchboard: one image for the API service, workers and the scheduler.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY core ./core
COPY channels ./channels
COPY service ./service
COPY bots ./bots
COPY scheduler ./scheduler
COPY knowledge ./knowledge
RUN pip install . && useradd --create-home switchboard
USER switchboard

ENV SWITCHBOARD_API__HOST=0.0.0.0 SWITCHBOARD_API__PORT=8000 \
    SWITCHBOARD_DATABASE_URL=sqlite+aiosqlite:////home/switchboard/switchboard.db
# 8000: the API (and /metrics); 9100: a worker's /metrics (SWITCHBOARD_QUEUE__METRICS_PORT)
EXPOSE 8000 9100
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz')" || exit 1
CMD ["switchboard", "serve"]
