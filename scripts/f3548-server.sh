# Shared by scripts/f3548-prober and scripts/f3548-qualifier (sourced, not run): a fresh
# store and our server on a free port with the InterUSS test key, stopped and cleaned up
# on exit. Expects ROOT, PY, WORK, NAME (for messages) and db (empty for SQLite, else a
# PostgreSQL URL on whose server a fresh database is created and dropped afterwards).

SERVER_PID=""
PG_DB=""
f3548_cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then "$PY" - "$db" "$PG_DB" <<'PYEOF' >&2 || true
import sys, psycopg
admin, name = sys.argv[1], sys.argv[2]
with psycopg.connect(admin, autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
PYEOF
  fi
  rm -rf "$WORK"
}
trap f3548_cleanup EXIT

# Sets store: a new SQLite file, or a new PostgreSQL database on the given server.
f3548_fresh_store() {
  if [ -z "$db" ]; then
    store="$WORK/dss.sqlite"
  else
    PG_DB="${NAME//-/_}_$$_$(date +%s)"
    store=$("$PY" - "$db" "$PG_DB" <<'PYEOF'
import sys, psycopg
from urllib.parse import urlsplit
from psycopg.conninfo import make_conninfo
admin, name = sys.argv[1], sys.argv[2]
with psycopg.connect(admin, autocommit=True) as conn:
    conn.execute(f'CREATE DATABASE "{name}"')
if "://" in admin:
    parts = urlsplit(admin)  # urlunsplit would drop the // of an empty host
    print(f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else ""))
else:
    print(make_conninfo(admin, dbname=name))
PYEOF
)
  fi
  echo "$NAME: store $store" >&2
}

# Starts the server over $store with the given extra `serve` options; sets PORT and SERVER_PID.
f3548_start_server() {
  PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # The suites test conformance from one address as fast as they can: the per-party rate
  # and the per-address connection cap (tested in tests/api/test_hostile_socket.py) are
  # opened wide here, as the InterUSS DSS they were written against has neither.
  "$ROOT/.venv/bin/deconfliction" serve --host 127.0.0.1 --port "$PORT" --db "$store" \
    --rate-per-s 100000 --rate-burst 100000 --max-connections-per-address 1000 \
    --f3548-test-keys --f3548-audience localhost "$@" --log-level warning >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if "$PY" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$PORT/aux/v1/version', timeout=1)" 2>/dev/null; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.log" >&2; echo "$NAME: server did not start" >&2; exit 1; fi
    sleep 0.2
  done
  echo "$NAME: server did not answer" >&2; exit 1
}
