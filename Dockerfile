# safetybot in one container: `safetybot serve` runs the web server (waitress), the scheduled
# jobs (daily tip and quiz, reminders, the CAP feed) and the outbox sender in one process, so a
# single container sends the daily pushes. Several web containers: compose.yaml (gunicorn web,
# one `safetybot scheduler`, PostgreSQL).
#
#   docker build -t safetybot .
#   docker build --build-arg PIP_INDEX_URL=https://mirrors.aliyun.com/pypi/simple/ -t safetybot .
FROM python:3.11-slim

# The package index, e.g. a mirror (many networks in China need one). pip reads it from the
# environment of the RUN steps below; it is not kept in the image.
ARG PIP_INDEX_URL=https://pypi.org/simple

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////data/safetybot.db \
    SAFETYBOT_FILES_DIR=/data/files

WORKDIR /app

# The dependencies first, at the versions of constraints.txt: this layer is rebuilt only when
# pyproject.toml or constraints.txt change, not on every change to the code.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; x = p['optional-dependencies']; print('\n'.join(p['dependencies'] + x['postgres'] + x['gunicorn']))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# A CJK font for the Chinese labels of the summary's charts (bot/console/charts_png.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

# The code (see .dockerignore), installed without touching the dependencies above.
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY content ./content
COPY scheduler ./scheduler
RUN pip install --no-deps . \
    && pip check \
    && useradd --create-home --uid 10001 safetybot \
    && mkdir -p /data/files && chown -R safetybot /data

USER safetybot
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

CMD ["safetybot", "serve", "--host", "0.0.0.0", "--port", "8000"]
