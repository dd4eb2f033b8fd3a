#!/usr/bin/env bash
# Builds the container image from the Dockerfile and runs it against this machine's PostgreSQL
# and Redis, then checks /readyz and an API call. Slow (minutes): run it by hand before a
# release, not in every CI run.
#
#   scripts/container-check.sh                     # podman, local Debian base image
#   PYTHON_IMAGE=python:3.11-slim-bookworm scripts/container-check.sh   # where a registry is reachable
#
# Needs root, podman, runc and debootstrap (apt-get install podman runc debootstrap), PostgreSQL
# on 127.0.0.1:5432 (user postgres, trust auth) and Redis on 127.0.0.1:6379.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=localhost/conduit-api:check
BASE=${PYTHON_IMAGE:-localhost/python-base}
NAME=conduit-check
PORT=${PORT:-8765}
DB=conduit_container_check
podman=(podman --runtime runc --cgroup-manager cgroupfs)

step() { printf '\n=== %s ===\n' "$*"; }

# Containers here run without a systemd user session; no default ulimits to apply.
if ! grep -qs '^default_ulimits = \[\]' /etc/containers/containers.conf; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n' >> /etc/containers/containers.conf
fi

if [ "$BASE" = localhost/python-base ] && ! podman image exists "$BASE"; then
    step "Making a local Debian bookworm base image with Python (debootstrap)"
    root=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" >/dev/null
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    tar -C "$root" -c . | podman import - "$BASE" >/dev/null
    rm -rf "$root"
fi

step "Building $IMAGE from $BASE"
start=$(date +%s)
podman build --format docker --isolation chroot --network host --build-arg "PYTHON_IMAGE=$BASE" -t "$IMAGE" . >/tmp/container-build.log
echo "built in $(( $(date +%s) - start ))s; image size: $(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
echo "user: $(podman image inspect "$IMAGE" --format '{{.Config.User}}'), command: $(podman image inspect "$IMAGE" --format '{{.Config.Cmd}}')"

env=(
    -e "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
    -e "ALLOWED_HOSTS=127.0.0.1,localhost"
    -e "DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB"
    -e "REDIS_URL=redis://127.0.0.1:6379/13"
    -e "PORT=$PORT"
    -e "WEB_CONCURRENCY=2"
)

step "Migrating (a separate command, not part of every start)"
dropdb -h 127.0.0.1 -U postgres --if-exists "$DB"
createdb -h 127.0.0.1 -U postgres "$DB"
"${podman[@]}" run --rm --network host "${env[@]}" "$IMAGE" python3 manage.py migrate --no-input -v 1 | tail -1

step "Running the image"
"${podman[@]}" rm -f "$NAME" >/dev/null 2>&1 || true
"${podman[@]}" run -d --name "$NAME" --network host "${env[@]}" "$IMAGE" >/dev/null
trap '"${podman[@]}" rm -f "$NAME" >/dev/null 2>&1 || true; dropdb -h 127.0.0.1 -U postgres --if-exists "$DB"' EXIT
for _ in $(seq 60); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.5
done

step "Checks"
echo "GET /readyz   -> $(curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/readyz")"
echo "GET /api/tags -> $(curl -s -w ' %{http_code}' "http://127.0.0.1:$PORT/api/tags")"
echo "POST /api/users -> $(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/api/users" \
    -H 'Content-Type: application/json' \
    -d '{"user": {"username": "container", "email": "c@example.com", "password": "password1"}}')"
echo "static asset  -> $(curl -s -o /dev/null -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")"
"${podman[@]}" healthcheck run "$NAME" && echo "HEALTHCHECK   -> healthy (podman healthcheck run)"
echo "processes: $("${podman[@]}" top "$NAME" user args | tail -n +2 | awk '{print $1}' | sort | uniq -c | xargs)"
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null
curl -fs "http://127.0.0.1:$PORT/api/tags" >/dev/null
step "Container check passed"
