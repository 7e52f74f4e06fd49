# Shell helpers for tests in the pg suite (source it); tests/lib/pg_cluster.sh sets the
# PAYGATE_TEST_PG* variables they read. Outside the pg suite pg_test_active is false.

pg_test_active() { [ -n "${PAYGATE_TEST_PG:-}" ]; }

# Runs a command as the cluster's owner (the postgres user when we are root).
pg_as() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

# pg_test_database LABEL: makes a new, empty database and prints its URL.
pg_test_database() {
  local name="$1_$$_${RANDOM}${RANDOM}"
  psql -X -q -v ON_ERROR_STOP=1 -h "$PAYGATE_TEST_PG" -U "${PAYGATE_TEST_PG_USER:-postgres}" \
    -d postgres -c "CREATE DATABASE $name TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'" \
    >/dev/null || return 1
  # the password is never asked for (trust): it is there to be checked absent from logs
  echo "postgresql:///$name?host=$PAYGATE_TEST_PG&user=${PAYGATE_TEST_PG_USER:-postgres}&password=pgtest-never-logged"
}

# The server crashes (immediate shutdown: no checkpoint, recovery from the WAL at the next
# start), then starts again.
pg_test_crash_server() {
  pg_as pg_ctl -D "$PAYGATE_TEST_PG_DATA" -m immediate -w stop >/dev/null
}
pg_test_start_server() {
  pg_as pg_ctl -D "$PAYGATE_TEST_PG_DATA" -l "$PAYGATE_TEST_PG/server.log" -w -t 60 start >/dev/null
}
