# Conduit API container image: nginx in front of gunicorn (deploy/launch.py), static files
# collected at build time.
#
#   docker build -t conduit-api .
#   docker run --rm -e SECRET_KEY=... -e ALLOWED_HOSTS=... -e DATABASE_URL=... conduit-api migrate
#   docker run --rm -e ... -p 8000:8000 --read-only --tmpfs /tmp conduit-api
#
# The entrypoint (deploy/__main__.py) runs `serve` by default, maps `migrate` to the management
# command (one instance at a time on PostgreSQL), and runs any other command as given. Everything
# the running container writes goes to /tmp, so the root file system can be read-only.
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
COPY deploy ./deploy
COPY resources ./resources
COPY serializers_templates ./serializers_templates
# collectstatic needs settings that start; these values exist only for this step.
RUN DEBUG=false SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost ALLOW_SQLITE=true \
    /opt/venv/bin/python manage.py collectstatic --no-input --verbosity 0

FROM ${PYTHON_IMAGE} AS runtime
# Debian's nginx and its Lua module: the buffering front that slow clients meet instead of
# gunicorn. policy-rc.d keeps the package from starting a server while the image is built.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx libnginx-mod-http-lua \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
# PATH in full: an imported base image (scripts/container-check.sh makes one) may set none.
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
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
# Through the front, on the address PORT or BIND names.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python3", "-m", "deploy", "healthcheck"]
ENTRYPOINT ["python3", "-m", "deploy"]
CMD ["serve"]
