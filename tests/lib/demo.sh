# Shared by the shell integration tests that run `paygate demo` (tests/http/test_demo.sh,
# tests/shop/test_shop.sh); source it.
source "$(dirname "${BASH_SOURCE[0]}")/tmp.sh"

# demo_vars: sets dir (a fresh temp dir; the caller's EXIT trap ends with test_finish) and pid
# (empty: nothing started yet).
demo_vars() {
  test_tmpdir demo
  pid=
}

# demo_start BIN DIR [DEMO OPTIONS...]: starts `BIN demo` in the background with its data in
# DIR/data, every server on a free port (--base-port 0, unless the options say otherwise) and
# its output in DIR/out; sets demo_pid (the caller stops and reaps it). Waits for the event
# that says the demo is ready, DIR/urls appearing (the demo writes it once every server
# answers), or for the demo's exit, at most DEMO_TIMEOUT_S seconds (default 300: a slow,
# loaded machine, a sanitizer build). Then sets BANK0, BANK1, PLATFORM and SHOP to the URLs the
# servers really bound. Returns 1, after printing the demo's output, when it did not get ready.
demo_start() {
  local bin=$1 d=$2
  shift 2
  rm -f "$d/urls"
  "$bin" demo --data-dir "$d/data" --base-port 0 --urls-file "$d/urls" "$@" >"$d/out" 2>&1 &
  demo_pid=$!
  local deadline=$((SECONDS + ${DEMO_TIMEOUT_S:-300}))
  while [ ! -s "$d/urls" ]; do
    if ! kill -0 "$demo_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "the demo did not get ready (output in $d/out, logs in $d/data/logs):"
      cat "$d/out"
      return 1
    fi
    sleep 0.1
  done
  BANK0=$(demo_url "$d" bank-icbc)
  BANK1=$(demo_url "$d" bank-ccb)
  PLATFORM=$(demo_url "$d" platform)
  SHOP=$(demo_url "$d" shop)
}

# demo_url DIR NAME: the URL of server NAME (bank-icbc, bank-ccb, platform, shop) in DIR/urls.
demo_url() {
  awk -v n="$2" '$1 == n { print $2 }' "$1/urls"
}

# shop_staff_login SHOP JAR DATA_DIR [LOGIN PASSWORD]: logs in to the shop's back office
# (docs/shop.md "Staff login") with curl's cookie jar JAR, as LOGIN/PASSWORD or else as the
# first admin whose password the shop wrote to DATA_DIR/shop-admin.txt; the login form's
# token first (a double-submit cookie). Prints the session's CSRF token (every staff form
# needs it); returns 1 when the login did not open the back office.
shop_staff_login() {
  local s=$1 jar=$2 data=$3 login=${4:-admin} pw=${5:-} t
  [ -n "$pw" ] || pw=$(sed -n 's/^password //p' "$data/shop-admin.txt")
  t=$(curl -s -c "$jar" -b "$jar" "$s/admin/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  [ -n "$t" ] || return 1
  curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "csrf=$t" --data-urlencode "login=$login" \
    --data-urlencode "password=$pw" "$s/admin/login"
  curl -s -c "$jar" -b "$jar" "$s/courier" | sed -n 's/.*id="logout"><input type="hidden" name="csrf" value="\([^"]*\)".*/\1/p' | grep . || return 1
}
