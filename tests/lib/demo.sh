# Shared by the shell integration tests that run `paygate demo` (tests/http/test_demo.sh,
# tests/shop/test_shop.sh); source it.
#
# demo_vars: sets dir (a fresh temp dir; the caller's trap removes it), base (a random base
# port, 20000..39999) and pid (empty: nothing started yet).
demo_vars() {
  dir=$(mktemp -d)
  base=$((20000 + RANDOM % 20000))
  pid=
}

# demo_start BIN DIR BASE: starts `BIN demo` in the background with its data in DIR/data on
# ports BASE..BASE+3 and its output in DIR/out, sets demo_pid (the caller stops and reaps it),
# and waits up to 60 s for "ready". Returns 1, after printing the output, when the demo did not
# get ready or died.
demo_start() {
  "$1" demo --data-dir "$2/data" --base-port "$3" >"$2/out" 2>&1 &
  demo_pid=$!
  for _ in $(seq 600); do
    grep -q 'ready' "$2/out" && return 0
    kill -0 "$demo_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$2/out"
  return 1
}
