#!/usr/bin/env bash
# The demo: migrate, a staff login, a simulated CPO connected over OCPI, then the web server,
# a Celery worker and beat. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
SIM_PORT=${SIM_PORT:-8765}
SIM_LOCATIONS=${SIM_LOCATIONS:-500}
export OCPI_BASE_URL=${OCPI_BASE_URL:-http://127.0.0.1:$PORT}
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}

pids=()
cleanup() {
  trap - INT TERM HUP EXIT
  echo; echo "Stopping the demo…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}
trap cleanup INT TERM HUP EXIT

$PY manage.py migrate --noinput -v0
$PY manage.py demo_login

# Once we have registered with it, the simulator pushes EVSE status changes to us (live status).
$PY manage.py ocpi_simulate_cpo --port "$SIM_PORT" --locations "$SIM_LOCATIONS" --seed 1 --token-a demo-token-a \
  --push-rate "${SIM_PUSH_RATE:-2}" --push-to "http://127.0.0.1:$PORT/ocpi/versions" > var/simulator.log 2>&1 &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload > var/web.log 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  if curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/schema/" && grep -q "listening" var/simulator.log; then break; fi
  sleep 0.5
done
$PY manage.py ocpi_register "http://127.0.0.1:$SIM_PORT/ocpi/versions" demo-token-a --name "Simulated CPO" --replace
$PY manage.py ocpi_sync --full
$PY -m celery -A config worker --loglevel=INFO --concurrency=2 > var/worker.log 2>&1 &
pids+=($!)
$PY -m celery -A config beat --loglevel=INFO > var/beat.log 2>&1 &
pids+=($!)

cat <<TEXT

The demo is running (logs in var/*.log):
  staff admin    http://127.0.0.1:$PORT/admin/
  API docs       http://127.0.0.1:$PORT/api/docs/
  OCPI versions  http://127.0.0.1:$PORT/ocpi/versions
  CPO simulator  http://127.0.0.1:$SIM_PORT/ocpi/versions
Press Ctrl-C to stop everything.
TEXT
wait -n "${pids[@]}"
