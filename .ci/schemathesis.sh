#!/usr/bin/env bash
# Fuzz a live Partsite from its own OpenAPI schema with Schemathesis (requirements/dev.txt), as a
# lead, a fabricator, a viewer and anonymously, checking that no answer is a server error and that
# every answer matches the schema. The instance is the embedded setup (SQLite, the SQLite broker,
# files on disk) in a throw-away data dir, seeded by partsite/tests/fuzz/seed.py, served by gunicorn.
#
#   .ci/schemathesis.sh               # FUZZ_PORT=8100, FUZZ_MAX_EXAMPLES=8, FUZZ_WORKERS=1 (per role)
#   FUZZ_MAX_EXAMPLES=50 .ci/schemathesis.sh
#
# Left out, because they stream a file's bytes (STEP, PDF, GLB, PNG, ZIP) that no schema describes
# and fuzzing them mostly reads files (their errors are JSON, tested in files/tests and
# parts/tests): the downloads, the 3D model, the preview image and the ZIP archive.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${FUZZ_PORT:-8100}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-8}
WORKERS=${FUZZ_WORKERS:-1}
BIN=.venv/bin
BINARY_ANSWERS='/download/$|/model/$|/preview/$|/api/parts/archive/$'

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The embedded setup, whatever the calling shell points at; generous anonymous rate, so that the
# anonymous run meets the schema's answers rather than 429s.
unset DATABASE_URL CELERY_BROKER_URL CACHE_URL AWS_STORAGE_BUCKET_NAME
export PARTSITE_DATA_DIR="$work/data" ANONYMOUS_RATE=100000/min LOG_LEVEL=WARNING
export SITE_URL="http://127.0.0.1:$PORT"
mkdir -p "$PARTSITE_DATA_DIR"

$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py shell -c "from partsite.tests.fuzz.seed import seed; seed()" > "$work/keys"

BIND="127.0.0.1:$PORT" WEB_WORKERS=3 $BIN/gunicorn -c python:partsite.gunicorn partsite.wsgi \
    >"$work/server.log" 2>&1 &
server=$!
up() {
    $BIN/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "http://127.0.0.1:$PORT/health/" >/dev/null 2>&1
}
for _ in $(seq 1 60); do
    up && break
    sleep 0.5
done
up || { echo "gunicorn did not answer on port $PORT:" >&2; tail -20 "$work/server.log" >&2; exit 1; }

# One run per role, side by side, against the one server.
# The coverage phase (every boundary and wrong type of every parameter, ~3,600 cases) for the roles
# that write; the viewer and anonymous runs, mostly 401/403 answers, fuzz and follow links only.
PHASES_FOR_WRITERS=examples,coverage,fuzzing,stateful
PHASES_FOR_READERS=examples,fuzzing,stateful

fuzz() {
    local role=$1 phases=$2 key
    key=$(awk -v role="$role" '$1 == role {print $2}' "$work/keys")
    local auth=()
    if [ -n "$key" ]; then
        auth=(-H "X-API-Key: $key")
    fi
    $BIN/schemathesis --config-file .ci/schemathesis.toml run "http://127.0.0.1:$PORT/api/schema/" "${auth[@]}" \
        --checks not_a_server_error,response_schema_conformance \
        --exclude-path-regex "$BINARY_ANSWERS" \
        --phases "$phases" --max-examples "$MAX_EXAMPLES" --workers "$WORKERS" --seed 12 --no-shrink \
        --suppress-health-check all --warnings off --request-timeout 30 --no-color
}
runs=()
for role in lead fabricator viewer anonymous; do
    phases=$PHASES_FOR_READERS
    case $role in lead | fabricator) phases=$PHASES_FOR_WRITERS ;; esac
    fuzz "$role" "$phases" >"$work/$role.log" 2>&1 &
    runs+=("$role:$!")
done
failed=0
for run in "${runs[@]}"; do
    role=${run%%:*}
    wait "${run#*:}" || failed=1
    printf '\n---- Schemathesis as %s ----\n' "$role"
    cat "$work/$role.log"
done
kill "$server" && wait "$server" || true  # stopped here so that `times` below counts its CPU too
server=""

if [ "$failed" != 0 ]; then
    echo "Schemathesis found failures; the server's log:" >&2
    grep -E '"level": "(ERROR|CRITICAL)"' "$work/server.log" | tail -20 >&2 || true
    exit 1
fi
echo "Schemathesis: no server errors, every answer as the schema says. CPU time (shell, then children):"
times
