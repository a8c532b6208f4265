# safetybot: gunicorn serving bot.wsgi:app; run `safetybot scheduler` as a second container
# (same image, command override) when you run more than one web container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite:////data/safetybot.db \
    SAFETYBOT_FILES_DIR=/data/files

WORKDIR /app
# A CJK font for the Chinese labels of the summary's charts (bot/console/charts_png.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY content ./content
COPY scheduler ./scheduler
RUN pip install . \
    && useradd --create-home --uid 10001 safetybot \
    && mkdir -p /data && chown safetybot /data

USER safetybot
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "--timeout", "30", "--access-logfile", "-", "bot.wsgi:app"]
