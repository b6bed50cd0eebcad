# The backend image: web, worker, scheduler and migrate all run from it (docker-compose.yml
# picks the command). The code runs from /app, owned by root and read-only to the app user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=backend.settings

WORKDIR /app

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
# (The project installs no packages of its own; the code below runs from /app.)
COPY pyproject.toml ./
RUN pip install . && rm -rf build ./*.egg-info

COPY . .
# Static files (admin, dashboard) are served by WhiteNoise from the web process.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
USER app

EXPOSE 8000
CMD ["uvicorn", "backend.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "10", "--no-proxy-headers"]
