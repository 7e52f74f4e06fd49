# Servers started by shell tests; source it after defining fail().
#
# wait_url_file PID FILE LOG: waits until the server PID has written the URL it bound to FILE
# (its --print-url-file, written once it listens), at most 120 s; fails naming LOG if the
# server exits first or never writes it. The URL is then $(cat FILE).
wait_url_file() {
  local pid=$1 file=$2 log=$3
  for _ in $(seq 1200); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "the server exited at start (its log: $log)"
    sleep 0.1
  done
  fail "the server did not start within 120 s (its log: $log)"
}
