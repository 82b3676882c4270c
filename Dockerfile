# Production image: gunicorn serving lumoauth.wsgi; the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LUMOAUTH_VAR_DIR=/var/lib/lumoauth STATIC_ROOT=/app/staticfiles
RUN apt-get update && apt-get install -y --no-install-recommends xmlsec1 && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app lumoauth && mkdir -p /var/lib/lumoauth && chown lumoauth /var/lib/lumoauth
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --no-input -v0
USER lumoauth
EXPOSE 8000
# gunicorn.conf.py (read from /app): Django logs each request as JSON; set PROMETHEUS_MULTIPROC_DIR for /metrics.
CMD ["gunicorn", "lumoauth.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]
