#!/usr/bin/env bash
# Side by side: the same pages on each candidate HTTP server, straight at the server (no
# nginx), 2 processes each (daphne: 1, it has no worker option), on the database of
# $DATABASE_URL (PostgreSQL, filled by bench/http.py or seed_bulk), wrk 32 connections.
# Prints one line per server and page: rps and wrk's latency line. By hand only.
#   DATABASE_URL=postgres://.../partage_bench REDIS_URL=redis://127.0.0.1:6379/0 \
#       bash bench/servers.sh [seconds per page, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-8}
port=18999
export DEBUG=false LOG_LEVEL=WARNING DATABASE_POOL_MAX=${DATABASE_POOL_MAX:-4}
: "${DATABASE_URL:?set DATABASE_URL}" "${REDIS_URL:?set REDIS_URL}"
.venv/bin/python manage.py collectstatic --noinput -v 0
pages=("/manifest.webmanifest" "/" "/listings/?q=perceuse")
declare -A servers=(
    [gunicorn-sync]=".venv/bin/gunicorn -w 2 -b 127.0.0.1:$port config.wsgi:application"
    [gunicorn-gthread]=".venv/bin/gunicorn -w 2 -k gthread --threads 4 -b 127.0.0.1:$port config.wsgi:application"
    [granian-wsgi]=".venv/bin/granian --interface wsgi --workers 2 --blocking-threads 4 --host 127.0.0.1 --port $port config.wsgi:application"
    [uvicorn-asgi]=".venv/bin/uvicorn --workers 2 --no-access-log --host 127.0.0.1 --port $port config.asgi:application"
    [daphne-asgi]=".venv/bin/daphne -b 127.0.0.1 -p $port config.asgi:application"
)
for name in gunicorn-sync gunicorn-gthread granian-wsgi uvicorn-asgi daphne-asgi; do
    # shellcheck disable=SC2086
    setsid ${servers[$name]} >/tmp/partage-servers-$name.log 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$port/healthz/live" && break
        sleep 0.2
    done
    for page in "${pages[@]}"; do
        wrk -t 2 -c 32 -d 2s "http://127.0.0.1:$port$page" >/dev/null  # warm-up
        out=$(wrk -t 2 -c 32 -d "${duration}s" --latency "http://127.0.0.1:$port$page")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p50=$(awk '$1=="50%" {print $2}' <<<"$out")
        p99=$(awk '$1=="99%" {print $2}' <<<"$out")
        bad=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
        printf '%-17s %-24s rps=%-8s p50=%-8s p99=%-8s %s\n' "$name" "$page" "$rps" "$p50" "$p99" "$bad"
    done
    kill -TERM -- "-$pid"
    wait "$pid" 2>/dev/null || true
    sleep 1
done
