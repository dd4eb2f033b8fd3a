#!/usr/bin/env bash
# Builds the container image from the Dockerfile and runs it against this machine's PostgreSQL
# and Redis, as production would: migrations as a one-shot (three at once, applied once), the
# API with a read-only root file system, a tmpfs for /tmp and a CPU quota, checked through its
# front (nginx before gunicorn), attacked by slow clients, then stopped with SIGTERM. Slow
# (minutes): run it by hand before a release, not in every CI run.
#
#   scripts/container-check.sh                     # podman, local Debian base image
#   PYTHON_IMAGE=python:3.11-slim-bookworm scripts/container-check.sh   # where a registry is reachable
#
# Needs root, podman, runc and debootstrap (apt-get install podman runc debootstrap), PostgreSQL
# on 127.0.0.1:5432 (user postgres, trust auth) and Redis on 127.0.0.1:6379, and .venv (for the
# slow-clients script: python3 dev.py test creates it). docker-compose (Debian's) validates
# compose.yaml where it is installed. The database, Redis database, key prefix and port it uses:
# CHECK_DATABASE, CHECK_REDIS_URL, CHECK_CACHE_PREFIX, PORT; CHECK_ATTACK_SECONDS (35) sets how
# long the slow clients attack; CHECK_LOG_DIR keeps the build log and headers (by default a
# temporary folder, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=localhost/conduit-api:check
BASE=${PYTHON_IMAGE:-localhost/python-base}
NAME=conduit-check
PORT=${PORT:-8765}
DB=${CHECK_DATABASE:-conduit_container_check}
REDIS=${CHECK_REDIS_URL:-redis://127.0.0.1:6379/13}
PREFIX=${CHECK_CACHE_PREFIX:-container-check}
URL="http://127.0.0.1:$PORT"
LOGS=${CHECK_LOG_DIR:-}
if [ -z "$LOGS" ]; then
    LOGS=$(mktemp -d "${TMPDIR:-/tmp}/conduit-container-check.XXXXXX")
    REMOVE_LOGS=1
fi
mkdir -p "$LOGS"
podman=(podman --runtime runc --cgroup-manager cgroupfs)
# Without systemd, podman says on every run that it cannot schedule health checks by timer
# (`podman healthcheck run` below runs the check instead).
quiet_podman() { "${podman[@]}" "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }

step() { printf '\n=== %s ===\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# Containers here run without a systemd user session; no default ulimits to apply.
if ! grep -qs '^default_ulimits = \[\]' /etc/containers/containers.conf; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n' >> /etc/containers/containers.conf
fi

if [ "$BASE" = localhost/python-base ] && ! podman image exists "$BASE"; then
    step "Making a local Debian bookworm base image with Python (debootstrap)"
    root=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" >/dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    tar -C "$root" -c . | podman import - "$BASE" >/dev/null
    rm -rf "$root"
fi

if command -v docker-compose >/dev/null; then
    step "compose.yaml"
    SECRET_KEY=check docker-compose -f compose.yaml config -q && echo "valid (docker-compose config)"
fi

step "Building $IMAGE from $BASE"
start=$(date +%s)
podman build --format docker --isolation chroot --network host --build-arg "PYTHON_IMAGE=$BASE" -t "$IMAGE" . >"$LOGS/build.log"
echo "built in $(( $(date +%s) - start ))s; image size: $(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
echo "user: $(podman image inspect "$IMAGE" --format '{{.Config.User}}'), entrypoint: $(podman image inspect "$IMAGE" --format '{{.Config.Entrypoint}}'), command: $(podman image inspect "$IMAGE" --format '{{.Config.Cmd}}')"
echo "nginx: $(quiet_podman run --rm "$IMAGE" nginx -v 2>&1)"

env=(
    -e "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
    -e "ALLOWED_HOSTS=127.0.0.1,localhost"
    -e "DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB"
    -e "REDIS_URL=$REDIS"
    -e "CACHE_KEY_PREFIX=$PREFIX"
    -e "PUBLIC_BASE_URL=$URL"
)
cleanup() {
    for n in "$NAME" "$NAME-migrate-1" "$NAME-migrate-2" "$NAME-migrate-3"; do
        "${podman[@]}" rm -f "$n" >/dev/null 2>&1 || true
    done
    dropdb -h 127.0.0.1 -U postgres --if-exists "$DB"
    if [ -n "${REMOVE_LOGS:-}" ]; then rm -rf "$LOGS"; fi
}
trap cleanup EXIT

step "Migrating: three one-shot containers at once (docker run IMAGE migrate)"
dropdb -h 127.0.0.1 -U postgres --if-exists "$DB"
createdb -h 127.0.0.1 -U postgres "$DB"
for n in 1 2 3; do
    quiet_podman run -d --name "$NAME-migrate-$n" --network host "${env[@]}" "$IMAGE" migrate >/dev/null
done
for n in 1 2 3; do
    status=$("${podman[@]}" wait "$NAME-migrate-$n")
    [ "$status" = 0 ] || fail "migrate container $n exited with $status"
done
applied=$(for n in 1 2 3; do "${podman[@]}" logs "$NAME-migrate-$n"; done | grep -c "Applying" || true)
distinct=$(for n in 1 2 3; do "${podman[@]}" logs "$NAME-migrate-$n"; done | grep "Applying" | sort -u | wc -l)
nothing=$(for n in 1 2 3; do "${podman[@]}" logs "$NAME-migrate-$n"; done | grep -c "No migrations to apply" || true)
rows=$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT count(*) FROM django_migrations")
echo "migrations applied: $applied ($distinct distinct) by one container; $nothing found nothing left to apply; $rows rows in django_migrations"
[ "$applied" = "$distinct" ] && [ "$applied" = "$rows" ] && [ "$nothing" = 2 ] || fail "migrations were not applied exactly once"

step "Running the image: --read-only, a tmpfs for /tmp, 1 CPU, BIND=127.0.0.1:$PORT, MIGRATE_ON_START=1"
quiet_podman run -d --name "$NAME" --network host "${env[@]}" \
    -e "BIND=127.0.0.1:$PORT" -e MIGRATE_ON_START=1 \
    --read-only --read-only-tmpfs=false --tmpfs /tmp --cpus 1 "$IMAGE" >/dev/null
for _ in $(seq 120); do
    curl -fs "$URL/healthz" >/dev/null && break
    sleep 0.5
done
sleep 2

step "Checks"
echo "GET /readyz   -> $(curl -s -w ' %{http_code}' "$URL/readyz")"
echo "GET /api/tags -> $(curl -s -w ' %{http_code}' "$URL/api/tags")"
feed=$(curl -s -w ' %{http_code}' "$URL/feeds/articles.atom")
echo "GET /feeds/articles.atom -> ${feed: -3}, its links from PUBLIC_BASE_URL"
[ "${feed: -3}" = 200 ] && [[ "$feed" == *"<link href=\"$URL/articles\""* ]] || fail "the feed does not answer with links from PUBLIC_BASE_URL"
echo "POST /api/users -> $(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/users" \
    -H 'Content-Type: application/json' \
    -d '{"user": {"username": "container", "email": "c@example.com", "password": "password1"}}')"
echo "POST /api/users, chunked -> $(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/users" \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    -d '{"user": {"username": "chunked", "email": "chunked@example.com", "password": "password1"}}')"
css=$(curl -s "$URL/api/docs" | grep -o '/static/[^"]*swagger-ui\.[0-9a-f]*\.css' | head -1)
echo "static asset $css -> $(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{http_code} %{content_type}' -D "$LOGS/static.headers" "$URL$css"), $(grep -i -E '^(cache-control|content-encoding):' "$LOGS/static.headers" | tr -d '\r' | xargs)"
grep -qi 'immutable' "$LOGS/static.headers" && grep -qi 'content-encoding: gzip' "$LOGS/static.headers" || fail "static files are not compressed with long cache lifetimes"
"${podman[@]}" healthcheck run "$NAME" && echo "HEALTHCHECK   -> healthy (podman healthcheck run; it follows BIND)"
processes=$("${podman[@]}" top "$NAME" user args | tail -n +2)
echo "processes: $(echo "$processes" | awk '{print $1}' | sort | uniq -c | xargs)"
workers=$(echo "$processes" | grep -c "gunicorn" || true)
echo "gunicorn: 1 master and $(( workers - 1 )) workers for 1 CPU of quota; nginx: $(echo "$processes" | grep -c "nginx: worker" || true) worker(s)"
[ "$workers" = 4 ] || fail "expected 3 gunicorn workers (2 per CPU + 1) for a quota of 1 CPU"
errors=$("${podman[@]}" logs "$NAME" 2>&1 | grep -E '\[(WARNING|ERROR|CRITICAL)\]|\[(alert|emerg|crit|error)\]|"level":"(warning|error)"' || true)
[ -z "$errors" ] || fail "error lines in the container's log: $errors"
echo "log: no warning or error lines"
big=$(head -c 1100000 /dev/zero | tr '\0' 'x')
echo "POST 1.1 MB -> $(printf '%s' "$big" | curl -s -w ' %{http_code}' -X POST "$URL/api/users" -H 'Content-Type: application/json' --data-binary @-)"

ATTACK_SECONDS=${CHECK_ATTACK_SECONDS:-35}
step "Slow clients against the container ($ATTACK_SECONDS s)"
.venv/bin/python scripts/slow_clients.py --url "$URL" --seconds "$ATTACK_SECONDS"

step "Stopping with SIGTERM (podman stop)"
start=$(date +%s%N)
quiet_podman stop -t 45 "$NAME" >/dev/null
status=$("${podman[@]}" inspect "$NAME" --format '{{.State.ExitCode}}')
echo "stopped in $(( ($(date +%s%N) - start) / 1000000 )) ms, exit status $status"
"${podman[@]}" logs "$NAME" 2>&1 | grep -E '^\[launch\]' || true
[ "$status" = 0 ] || fail "the container did not stop cleanly"
step "Container check passed"
