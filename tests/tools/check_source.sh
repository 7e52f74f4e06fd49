#!/usr/bin/env bash
# Source checks, run as the 'check-source' test (usage: check_source.sh [SOURCE_ROOT]).
# Fails, listing file:line, if a C file under src/ tests/ bench/ fuzz/:
#   - calls a banned function (strcpy, strcat, sprintf, vsprintf, gets, atoi, atol, atoll,
#     strtok): unbounded copies and parsers without error reporting;
#   - uses float or double where money is handled: anywhere in src/core/money.* and
#     src/ledger/, and on any src/ line that mentions amount, money, price, fee, balance or
#     minor (money is int64_t minor units, docs/money.md);
#   - in src/, adds or subtracts with a raw + or - an identifier ending in _minor (an amount)
#     outside src/core/money.c: amounts go through pay_money_add / pay_money_sub, which
#     report overflow (string literals, i.e. SQL, and comments are not code);
#   - in src/, calls assert(): it vanishes under NDEBUG; invariants use PAY_ASSERT
#     (core/assertions.h), which stays on in release builds;
#   - in src/ outside src/crypto/, takes randomness from anywhere but the crypto module
#     (rand, random, *rand48, getrandom, getentropy, arc4random, randombytes_*, RAND_bytes,
#     /dev/urandom): pay_random_bytes / pay_random_uniform (crypto/crypto.h) are the one
#     source, a CSPRNG; a seeded generator for reproducible tests is code of its own;
#   - in src/ outside src/cli/, includes a header of src/cli/, or, in a .c file that is not a
#     command (cmd_*.c) or in src/cli/, calls a command (pay_cmd_*): the binary and the
#     commands call down into the modules, never the other way round;
#   - in src/ outside src/ledger/, names a ledger table (ledger_*) in a string literal: SQL on
#     the ledger's tables stays in the ledger, whose API (ledger/ledger.h) the others use;
#   - in src/, copies a string with snprintf(dst, n, "%s", src) (also with "%s" on the next
#     line): pay_str_copy (core/buf.h) is the one bounded copy, and it says when it cut;
#   - in src/ outside src/http/ (and the registry, src/core/errors.c), builds an error body
#     itself (json_pack or json_object_set with an "error" object, or a literal {"error":...):
#     errors become responses in one place, pay_http_respond_error (pay_http_error_json for
#     an answer kept before it is sent), which counts them and logs the 5xx;
#   - in src/ outside src/core/limits.h, defines a limit as a number: a macro named *_MAX,
#     *_MIN (also *_MAX_MS, ...), or with TTL, TIMEOUT, LEASE, STALE or SESSION_S in its name,
#     whose value is a number (a value derived from other constants may live beside its use):
#     every limit lives in limits.h, with its reason and _Static_asserts of its relations;
#   - has a function longer than 70 lines between its braces (a function's braces stand at the
#     start of their lines, as .clang-format puts them), unless tests/tools/long_functions.txt
#     names it, at no more than the length written there; an entry whose function is within
#     the limit again or gone must go (the list only shrinks);
#   - in a module with a src/<m>/server.c (bank, platform, switch; not src/http), defines a route table
#     (`const struct pay_http_route *NAME(size_t *n)`) that its server.c does not name (its
#     routes would never be served), or, outside server.c, registers routes itself with
#     pay_http_server_add_routes: each file exports its table and server.c walks them
#     (docs/hacking.md, "Platform routes");
#   - is not formatted as .clang-format says (skipped, with a notice, without clang-format).
# Comment lines (starting with /*, * or //) are not searched. In a git checkout the files
# checked are the tracked ones, as CI sees them; elsewhere every *.c and *.h.
set -u

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || { echo "check-source: cannot enter $root" >&2; exit 2; }

files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    while IFS= read -r f; do
        [ -f "$f" ] && files+=("$f")
    done < <(git ls-files -- 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 'fuzz/*.[ch]')
else
    while IFS= read -r f; do
        files+=("$f")
    done < <(find src tests bench fuzz -name node_modules -prune -o -type f -name '*.[ch]' \
                 -print 2>/dev/null | sort)
fi
if [ ${#files[@]} -eq 0 ]; then
    echo "check-source: no C files found under $root" >&2
    exit 2
fi

problems=$(awk '
    BEGIN {
        word = "(^|[^A-Za-z0-9_])"
        banned = word "(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok)[ \t]*\\("
        floating = word "(float|double)([^A-Za-z0-9_]|$)"
        moneyish = "amount|money|price|fee|balance|minor"
        randomness = word "(s?rand|s?random|rand_r|[sdelnmj]rand48|getrandom|getentropy|arc4random[a-z_]*|randombytes_[a-z_]+|RAND_[a-z_]*bytes)[ \t]*\("
    }
    /^[ \t]*(\/\/|\/\*|\*)/ { next }
    $0 ~ banned {
        match($0, banned)
        call = substr($0, RSTART, RLENGTH)
        sub(/^[^A-Za-z_]/, "", call)
        sub(/[ \t]*\($/, "", call)
        printf "%s:%d: banned function %s\n", FILENAME, FNR, call
    }
    FILENAME ~ /^src\// && FILENAME !~ /^src\/ledger\// {
        rest = $0
        while (match(rest, /"([^"\\]|\\.)*"/)) {
            lit = substr(rest, RSTART, RLENGTH)
            rest = substr(rest, RSTART + RLENGTH)
            if (lit ~ /(^|[^A-Za-z0-9_])ledger_[a-z]/) {
                printf "%s:%d: SQL on a ledger table outside src/ledger: use the ledger API (ledger/ledger.h)\n", FILENAME, FNR
                break
            }
        }
    }
    FILENAME ~ /^src\// && FILENAME != "src/core/limits.h" && /^#[ \t]*define[ \t]+[A-Z][A-Z0-9_]*[ \t]+[^ \t]/ {
        name = $0
        sub(/^#[ \t]*define[ \t]+/, "", name)
        value = name
        sub(/[ \t].*$/, "", name)
        sub(/^[A-Z0-9_]+[ \t]+/, "", value)
        sub(/\/\*.*$/, "", value)
        v = value
        gsub(/U?INT64_C/, "", v)
        gsub(/[0-9]+(ULL|LL|UL|L|U)?/, "", v)
        if ((name ~ /(_MAX|_MIN)(_[A-Z]+)?$/ || name ~ /TTL|TIMEOUT|LEASE|STALE|SESSION_S/) &&
            value ~ /[0-9]/ && value !~ /\\[ \t]*$/ && v ~ /^[ \t()*+\/<>-]*$/)
            printf "%s:%d: limit %s defined outside src/core/limits.h: move it there, with its reason\n", FILENAME, FNR, name
    }
    FILENAME ~ /^src\// && FILENAME !~ /^src\/http\// && FILENAME != "src/core/errors.c" {
        if ($0 ~ /json_pack[ \t]*\(.*"error"[ \t]*,/ ||
            $0 ~ /json_object_set(_new)?[ \t]*\([^,]*,[ \t]*"error"[ \t]*,[ \t]*json_(pack|object)/ ||
            $0 ~ /\\"error\\"[ \t]*:/)
            printf "%s:%d: an error body built outside the one response path: pay_http_respond_error (http/server.h)\n", FILENAME, FNR
    }
    FILENAME ~ /^src\// {
        c = $0
        gsub(/"%s"/, "PAY_FMT_S", c) # the one string literal that matters here
        gsub(/"([^"\\]|\\.)*"/, "\"\"", c)
        if (c ~ /snprintf[ \t]*\([^(),]*(\([^()]*\))?[^(),]*,[^,]*,[ \t]*PAY_FMT_S[ \t]*,/ ||
            (FNR == copy_line + 1 && c ~ /^[ \t]*PAY_FMT_S[ \t]*,/))
            printf "%s:%d: a string copied with snprintf(\"%%s\"): use pay_str_copy (core/buf.h), which says when it cut\n", FILENAME, FNR
        copy_line = c ~ /snprintf[ \t]*\([^;]*,[ \t]*$/ ? FNR : -1
    }
    FILENAME ~ /^src\// && FILENAME != "src/core/money.c" {
        code = $0
        gsub(/"([^"\\]|\\.)*"/, "\"\"", code) # string literals (SQL) are not arithmetic
        sub(/\/\*.*$/, "", code)
        sub(/\/\/.*$/, "", code)
        if (code ~ /_minor[ \t]*(\+|-)[^>+-]/ || code ~ /_minor[ \t]*(\+|-)=/ ||
            code ~ /(^|[^-+>])(\+|-)=?[ \t]*\(?[A-Za-z_][A-Za-z0-9_.]*((->|\.)[A-Za-z0-9_]+)*_minor([^A-Za-z0-9_]|$)/)
            printf "%s:%d: raw + or - on an amount: use pay_money_add / pay_money_sub\n", FILENAME, FNR
        if (FILENAME !~ /^src\/crypto\// &&
            (code ~ randomness || $0 ~ /\/dev\/u?random/ || code ~ /<sys\/random\.h>/))
            printf "%s:%d: randomness outside the crypto module: use pay_random_bytes / pay_random_uniform (crypto/crypto.h)\n", FILENAME, FNR
        if (FILENAME !~ /^src\/cli\// && $0 ~ /^[ \t]*#[ \t]*include[ \t]*"cli\//)
            printf "%s:%d: includes src/cli: the binary calls the modules, not the other way round\n", FILENAME, FNR
        if (FILENAME !~ /^src\/cli\// && FILENAME !~ /\/cmd_[a-z0-9_]+\.c$/ && FILENAME ~ /\.c$/ &&
            code ~ word "pay_cmd_[a-z0-9_]+[ \t]*\(")
            printf "%s:%d: library code calls a command (pay_cmd_*): commands call the library, not the other way round\n", FILENAME, FNR
        if (code ~ word "assert[ \t]*\(")
            printf "%s:%d: assert() vanishes under NDEBUG: use PAY_ASSERT (core/assertions.h)\n", FILENAME, FNR
    }
    FILENAME ~ /^src\// && $0 ~ floating {
        if (FILENAME ~ /^src\/core\/money\./ || FILENAME ~ /^src\/ledger\//)
            printf "%s:%d: floating point in money code\n", FILENAME, FNR
        else if (tolower($0) ~ moneyish)
            printf "%s:%d: floating point on a line about money\n", FILENAME, FNR
    }
' "${files[@]}")

# Function length: a line "{" opens a function's body, the next line "}" closes it; its name
# is the last word before "(" on the last line before the "{" that starts with a name.
function_lines_max=70
allowlist=tests/tools/long_functions.txt
long=$(awk -v max="$function_lines_max" -v allowfile="$allowlist" '
    BEGIN {
        while ((getline line < allowfile) > 0) {
            if (line ~ /^[ \t]*(#|$)/)
                continue
            split(line, f, /[ \t]+/)
            allowed[f[1] " " f[2]] = f[3] + 0
        }
    }
    FNR == 1 { inside = 0; sig = "" }
    !inside && /^[A-Za-z_].*\(/ { sig = $0 }
    !inside && /^\{[ \t]*$/ {
        inside = 1
        start = FNR
        name = sig
        sub(/\(.*/, "", name)
        n = split(name, w, /[ \t*]+/)
        name = w[n]
        next
    }
    inside && /^\}/ {
        inside = 0
        len = FNR - start - 1
        key = FILENAME " " name
        if (key in allowed) {
            seen[key] = 1
            if (len > allowed[key])
                printf "%s:%d: function %s grew to %d lines (%s allows %d; split it)\n", FILENAME, start, name, len, allowfile, allowed[key]
            else if (len <= max)
                printf "%s:%d: function %s is %d lines now: remove it from %s\n", FILENAME, start, name, len, allowfile
        } else if (len > max)
            printf "%s:%d: function %s is %d lines (at most %d): split it\n", FILENAME, start, name, len, max
    }
    END {
        for (k in allowed)
            if (!(k in seen)) {
                split(k, f, " ")
                printf "%s: function %s is not there any more: remove it from %s\n", f[1], f[2], allowfile
            }
    }
' "${files[@]}")
if [ -n "$long" ]; then
    problems=$(printf '%s\n%s' "$problems" "$long" | sed '/^$/d')
fi

# Route tables: each one named by its module's server.c, which alone registers routes (src/http
# is the framework that does the registering).
routes=""
for f in "${files[@]}"; do
    case $f in src/http/*) continue ;; src/*/*.c) ;; *) continue ;; esac
    server=${f%/*}/server.c
    [ -f "$server" ] && [ "$f" != "$server" ] || continue
    while read -r line name; do
        grep -qw "$name" "$server" ||
            routes+="$f:$line: route table $name is not listed in $server: its routes are never served"$'\n'
    done < <(awk 'match($0, /^const struct pay_http_route \*[a-z0-9_]+\(size_t \*n\)$/) {
                      name = $0; sub(/^const struct pay_http_route \*/, "", name); sub(/\(.*/, "", name)
                      print FNR, name }' "$f")
    while IFS=: read -r line _; do
        routes+="$f:$line: registers routes itself: export a route table for $server to walk (docs/hacking.md, \"Platform routes\")"$'\n'
    done < <(grep -n 'pay_http_server_add\(_inline\)\?_routes[ \t]*(' "$f")
done
if [ -n "$routes" ]; then
    problems=$(printf '%s\n%s' "$problems" "$routes" | sed '/^$/d')
fi

status=0
if [ -n "$problems" ]; then
    echo "$problems"
    status=1
fi

if command -v clang-format >/dev/null 2>&1; then
    unformatted=$(clang-format --dry-run --Werror "${files[@]}" 2>&1 |
        sed -n 's/^\([^:]*\):\([0-9]*\):[0-9]*: error: code should be clang-formatted.*/\1:\2/p' |
        sort -u -t: -k1,1)
    if [ -n "$unformatted" ]; then
        while IFS= read -r loc; do
            echo "$loc: not formatted (run: clang-format -i ${loc%%:*})"
        done <<<"$unformatted"
        status=1
    fi
else
    echo "check-source: clang-format not installed; format check skipped"
fi

if [ $status -eq 0 ]; then
    echo "check-source: ${#files[@]} files clean"
fi
exit $status
