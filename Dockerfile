# Conduit API container image: gunicorn serving the API, static files collected at build time.
#
#   docker build -t conduit-api .
#   docker run --rm -e SECRET_KEY=... -e ALLOWED_HOSTS=... -e DATABASE_URL=... -p 8000:8000 conduit-api
#   docker run --rm -e ... conduit-api python manage.py migrate    # migrations: a separate step
#
# The base image is an argument so the image can also be built from a locally made base.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt
WORKDIR /app
COPY manage.py gunicorn.conf.py ./
COPY api_project ./api_project
COPY resources ./resources
COPY serializers_templates ./serializers_templates
# collectstatic needs settings that start; these values exist only for this step.
RUN DEBUG=false SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    /opt/venv/bin/python manage.py collectstatic --no-input --verbosity 0

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEBUG=false
RUN groupadd --system conduit && useradd --system --gid conduit --no-create-home conduit
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=conduit:conduit /app /app
WORKDIR /app
USER conduit
EXPOSE 8000
ENV PORT=8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/healthz' % os.environ['PORT']; sys.exit(urllib.request.urlopen(url, timeout=2).status != 200)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "api_project.wsgi:application"]
