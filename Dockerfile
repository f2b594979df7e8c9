# The Dr.Gero Console in production: gunicorn behind a TLS-terminating proxy.
# Build: docker build -t drgero-console .   Run: see docs/deploy.md and docker-compose.yml.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# Dependencies first, exactly as pinned, so this layer is reused while only code changes.
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --only-binary=:all: -r requirements.lock
COPY manage.py ./
COPY console ./console
COPY drgero_client ./drgero_client
COPY templates ./templates
COPY static ./static
# Hashed, compressed static files for whitenoise. The keys here exist only for this step.
RUN DJANGO_SETTINGS_MODULE=console.settings.production \
    DJANGO_SECRET_KEY=collectstatic-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
    CONSOLE_TOKEN_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    CONSOLE_AUDIT_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    DATABASE_URL=sqlite:////tmp/unused.sqlite3 \
    DJANGO_ALLOWED_HOSTS=localhost \
    /opt/venv/bin/python manage.py collectstatic --noinput --verbosity 0

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=console.settings.production \
    CONSOLE_VAR_DIR=/var/lib/console \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
RUN mkdir -p /var/lib/console && chown 10001:10001 /var/lib/console
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://localhost:8000/healthz', timeout=4).status == 200 else 1)"]
# Threaded workers: pages wait on Dr.Gero, so threads keep the CPU busy while calls are out.
# The worker timeout (120 s) outlasts the client's whole budget for one call, retries included.
CMD ["gunicorn", "console.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "8", "--timeout", "120", "--graceful-timeout", "30", "--no-control-socket", "--access-logfile", "-", "--logger-class", "console.gunicorn_logging.RedactingLogger", "--forwarded-allow-ips", "*"]
