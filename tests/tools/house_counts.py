#!/usr/bin/env python3
"""The house's numbers at given commits (issue 11, "How it is shown"), side by side.

usage: tests/tools/house_counts.py [--no-build] [--coverage] [--markdown] [--list-sleeps]
                                   COMMIT [COMMIT ...]

For each commit (anything git rev-parse takes: a hash, main, HEAD~3) the tree is taken out with
`git archive` into a temporary folder (the repository and its worktrees are not touched) and
measured there:

  transaction callbacks   function definitions with the shape of a transaction callback,
                          per contract (return type and parameters): before issue 11 the store's
                          `enum pay_store_status (tx, ctx, err)` and the committer's
                          `int (tx, ctx)`; after, the one `pay_store_tx_fn`,
                          `enum pay_err (tx, ctx, err)`
  int<->enum casts        casts to an enum type, and (int) casts of an enum value (a variable,
                          parameter or field declared with an enum type, or a call of a
                          function returning one)
  assertions per module   PAY_ASSERT / PAY_ASSERT_MSG and assert() calls in src/<module>/*.c,
                          with the module's function count
  SDK exported symbols    built: the SDK library's dynamic symbols (libpaygate.so) and the
                          global ones of its archive (libpaygate.a), and how many are paygate_*
                          (needs a meson setup and a partial build per commit; --no-build
                          skips it)
  limits outside limits.h the rule of tests/tools/check_source.sh: a macro in src/ outside
                          src/core/limits.h named *_MAX/*_MIN (or *_MAX_MS...), or with TTL,
                          TIMEOUT, LEASE, STALE or SESSION_S in its name, whose value is a number
  sleeps in tests         sleep/usleep/nanosleep/setTimeout/waitForTimeout/`sleep N` in tests/:
                          "poll" when the sleep sits in a loop that checks a condition each
                          round (a wait for an event, polled with a bound), "random" when it
                          waits a random time (a crash test choosing when to kill), "bare"
                          otherwise (a sleep standing in for an event); a heuristic:
                          --list-sleeps lists each one with its class, to be read
  coverage                with --coverage only: runs scripts/coverage.sh (make coverage) in the
                          extracted tree (a whole instrumented build and test run: long) and
                          prints its total line; "-" without it or where the commit has no
                          scripts/coverage.sh

Example (the table in docs/hacking.md, "The house in numbers"):

    tests/tools/house_counts.py --markdown 780496d main
"""
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def git(*args):
    return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True,
                          check=True).stdout


def extract(commit, into):
    archive = subprocess.Popen(["git", "-C", ROOT, "archive", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", into], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"house_counts: git archive {commit} failed")


def files_under(tree, top, exts):
    out = []
    for base, dirs, names in os.walk(os.path.join(tree, top)):
        dirs[:] = [d for d in dirs if d != "node_modules"]
        for n in names:
            if n.endswith(exts):
                out.append(os.path.join(base, n))
    return sorted(out)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def strip_comments(text):
    """C text without its comments and string literals' contents (lengths kept per line)."""
    def blank(m):
        s = m.group(0)
        if s.startswith(("/", )):
            return re.sub(r"[^\n]", " ", s)
        return s[0] + re.sub(r"[^\n]", " ", s[1:-1]) + s[-1]
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', blank, text,
                  flags=re.S)


# --- transaction callbacks ---------------------------------------------------------------

CALLBACK = re.compile(
    r"^(?:static\s+)?(enum\s+\w+|int)\s+\w+\s*\(\s*struct\s+pay_store_tx\s*\*\s*\w*\s*,"
    r"\s*void\s*\*\s*\w*\s*(,\s*struct\s+pay_error\s*\*\s*\w*\s*)?\)\s*\{", re.M)


def callbacks(tree):
    shapes = Counter()
    for path in files_under(tree, "src", (".c",)):
        for m in CALLBACK.finditer(strip_comments(read(path))):
            ret = re.sub(r"\s+", " ", m.group(1))
            shapes[f"{ret} (tx, ctx{', err' if m.group(2) else ''})"] += 1
    return shapes


# --- int <-> enum casts ------------------------------------------------------------------

def enum_names(texts):
    """Functions returning an enum, and per file the variables/parameters/fields declared
    with an enum type."""
    funcs, fields, other = set(), set(), set()
    for text in texts.values():
        for m in re.finditer(r"\benum\s+\w+\s+\**\s*(\w+)\s*\(", text):
            funcs.add(m.group(1))
        for m in re.finditer(r"^\s+enum\s+\w+\s+(\w+)\s*(?:[;:,]|\[)", text, re.M):
            fields.add(m.group(1))
        for m in re.finditer(r"^\s+(?!enum\b|return\b)[a-z_][\w ]*[\s*]+(\w+)\s*(?:[;:,]|\[)",
                             text, re.M):
            other.add(m.group(1))
    return funcs, fields - other  # a field name also declared with another type: not judged


def casts(tree):
    paths = files_under(tree, "src", (".c", ".h"))
    texts = {p: strip_comments(read(p)) for p in paths}
    funcs, fields = enum_names(texts)
    to_enum = to_int = 0
    for text in texts.values():
        local = set(re.findall(r"\benum\s+\w+\s+(\w+)\s*[=;,)]", text))
        to_enum += len(re.findall(r"\(\s*enum\s+\w+\s*\)", text))
        for m in re.finditer(r"\(\s*int\s*\)\s*([\w.>-]+)(\s*\()?", text):
            operand, call = m.group(1), m.group(2)
            last = re.split(r"\.|->", operand)[-1]
            if (call and last in funcs) or (not call and (
                    operand in local or (last != operand and last in fields))):
                to_int += 1
    return to_enum, to_int


# --- assertions --------------------------------------------------------------------------

def assertions(tree):
    rows = {}
    for mod in sorted(os.listdir(os.path.join(tree, "src"))):
        paths = files_under(tree, os.path.join("src", mod), (".c",))
        if not paths:
            continue
        pay = plain = functions = 0
        for p in paths:
            text = strip_comments(read(p))
            pay += len(re.findall(r"\bPAY_ASSERT(?:_MSG)?\s*\(", text))
            plain += len(re.findall(r"(?<![\w.])assert\s*\(", text))
            functions += len(re.findall(r"^\{", text, re.M))
        rows[mod] = (pay, plain, functions)
    return rows


# --- limits outside limits.h -------------------------------------------------------------

DEFINE = re.compile(r"^#[ \t]*define[ \t]+([A-Z][A-Z0-9_]*)[ \t]+([^ \t].*)$", re.M)


def limits_outside(tree):
    n = 0
    for p in files_under(tree, "src", (".c", ".h")):
        if p.endswith(os.path.join("src", "core", "limits.h")):
            continue
        for m in DEFINE.finditer(read(p)):
            name, value = m.group(1), re.sub(r"/\*.*$", "", m.group(2))
            v = re.sub(r"U?INT64_C", "", value)
            v = re.sub(r"[0-9]+(ULL|LL|UL|L|U)?", "", v)
            if ((re.search(r"(_MAX|_MIN)(_[A-Z]+)?$", name) or
                 re.search(r"TTL|TIMEOUT|LEASE|STALE|SESSION_S", name)) and
                    re.search(r"[0-9]", value) and not re.search(r"\\[ \t]*$", value) and
                    re.fullmatch(r"[ \t()*+/<>-]*", v)):
                n += 1
    return n


# --- sleeps in tests ---------------------------------------------------------------------

SLEEP = {
    "c": re.compile(r"\b(usleep|sleep|nanosleep|sleep_ms|sleep_s)\s*\("),
    "sh": re.compile(r"(^|[;&|(]\s*|\s)sleep\s+[\"']?[0-9$]"),
    # setTimeout(resolve, ms) waits; setTimeout(() => reject(...), ms) is a deadline, not a sleep
    "js": re.compile(r"\bsetTimeout\s*\(\s*\w+\s*,|\bwaitForTimeout\s*\(|\bsleep\s*\("),
    "py": re.compile(r"\btime\.sleep\s*\("),
}
LOOP = {
    "c": re.compile(r"^\s*(for|while|do)\b|\}\s*while\s*\("),
    "sh": re.compile(r"^\s*(for|while|until)\b"),
    "js": re.compile(r"^\s*(for|while|do)\b"),
    "py": re.compile(r"^\s*(for|while)\b"),
}
KIND = {".c": "c", ".h": "c", ".sh": "sh", ".js": "js", ".mjs": "js", ".py": "py"}


def in_loop(lines, i, kind):
    """Whether line i sits in a loop: a loop header above it at a lower indent, before the
    enclosing function's start."""
    indent = len(lines[i]) - len(lines[i].lstrip())
    for j in range(i, max(-1, i - 40), -1):
        line = lines[j]
        if not line.strip():
            continue
        ind = len(line) - len(line.lstrip())
        if j < i and ind == 0 and kind in ("c", "js") and line.strip() not in ("}",):
            if not LOOP[kind].search(line):
                return False
        if LOOP[kind].search(line) and (ind < indent or j == i):
            return kind != "sh" or sh_loop_checks(lines, j, i)
        if kind == "sh" and j < i and re.match(r"^\s*\w+\s*\(\)\s*\{", line):
            return False
    return False


def sh_loop_checks(lines, start, at):
    """Whether the shell loop starting at line start waits for something: a break or return
    in its body (up to its `done` at the header's indent or less). A loop that only exits on
    an error (a crash test's rounds) does not."""
    indent = len(lines[start]) - len(lines[start].lstrip())
    for k in range(start, min(len(lines), at + 40)):
        line = lines[k]
        if re.search(r"(^|[;&|]\s*|\s)(break|return)\b", line.split(" #")[0]):
            return True
        if k > start and re.match(r"^\s*done\b", line) and \
                len(line) - len(line.lstrip()) <= indent:
            return False
        if k == start and re.search(r";\s*done\b", line):
            return False
    return False


def sleeps(tree):
    found = []
    for p in files_under(tree, "tests", tuple(KIND)):
        kind = KIND[os.path.splitext(p)[1]]
        text = read(p)
        lines = (strip_comments(text) if kind == "c" else text).split("\n")
        for i, line in enumerate(lines):
            code = line if kind != "sh" else line.split(" #")[0]
            if code.lstrip().startswith(("#", "//", "*")) or "wait_for_sleep" in code:
                continue
            if SLEEP[kind].search(code) and not re.search(r"\bdef\s+sleep|function\s+sleep|"
                                                          r"const\s+sleep", code):
                rel = os.path.relpath(p, tree)
                kind_of = ("random" if "random" in code.lower() else
                           "poll" if in_loop(lines, i, kind) else "bare")
                found.append((rel, i + 1, kind_of, text.split("\n")[i].strip()))
    return found


# --- the SDK's exported symbols ----------------------------------------------------------

def sdk_symbols(tree):
    build = os.path.join(tree, "build-counts")
    r = subprocess.run(["meson", "setup", build, tree], capture_output=True, text=True)
    if r.returncode != 0:
        return None, "meson setup failed"
    targets = subprocess.run(["ninja", "-C", build, "-t", "targets", "all"], capture_output=True,
                             text=True).stdout
    want = re.findall(r"^(src/sdk/libpaygate\.(?:so[.0-9]*|a)):", targets, re.M)
    if not want or subprocess.run(["ninja", "-C", build, "-j", "2"] + want,
                                  capture_output=True).returncode != 0:
        return None, "SDK build failed"
    out = {}
    for t in want:
        path = os.path.join(build, t)
        args = ["nm", "-D", "--defined-only", path] if t.endswith(".so") else \
            ["nm", "-g", "--defined-only", path]
        names = set()
        for line in subprocess.run(args, capture_output=True, text=True).stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] not in ("A", "U", "w", "v"):
                names.add(parts[2].split("@")[0])
        lib = "libpaygate.so" if ".so" in t else "libpaygate.a"
        out[lib] = (len(names), sum(1 for n in names if n.startswith("paygate_")))
    return out, None


# --- coverage ----------------------------------------------------------------------------

def coverage(tree):
    script = os.path.join(tree, "scripts", "coverage.sh")
    if not os.path.exists(script):
        return "no make coverage at this commit"
    r = subprocess.run([script], cwd=tree, capture_output=True, text=True)
    total = [l for l in r.stdout.splitlines() if l.startswith("src/ (total)")]
    return total[-1].strip() if total else "coverage.sh printed no total"


# --- the table ---------------------------------------------------------------------------

def measure(commit, build, with_coverage):
    with tempfile.TemporaryDirectory(prefix="house-counts-") as tree:
        extract(commit, tree)
        m = {"callbacks": callbacks(tree), "casts": casts(tree), "asserts": assertions(tree),
             "limits": limits_outside(tree), "sleeps": sleeps(tree)}
        m["sdk"], m["sdk_note"] = sdk_symbols(tree) if build else (None, "not built (--no-build)")
        m["coverage"] = coverage(tree) if with_coverage else "-"
    return m


def rows(ms):
    """(label, [cell per commit]) rows."""
    out = []
    shapes = sorted({s for m in ms for s in m["callbacks"]})
    out.append(("transaction callbacks, by contract (their shape)", ["" for m in ms]))
    for s in shapes:
        out.append((f"  `{s}`", [str(m["callbacks"].get(s, 0)) for m in ms]))
    out.append(("casts to an enum / (int) of an enum",
                [f"{m['casts'][0]} / {m['casts'][1]}" for m in ms]))
    mods = sorted({k for m in ms for k in m["asserts"]})
    out.append(("PAY_ASSERT / assert() / functions, all of src",
                ["{} / {} / {}".format(*[sum(v[i] for v in m["asserts"].values())
                                         for i in range(3)]) for m in ms]))
    for mod in mods:
        out.append((f"  src/{mod}", ["{} / {} / {}".format(*m["asserts"][mod])
                                 if mod in m["asserts"] else "-" for m in ms]))
    for lib in ("libpaygate.so", "libpaygate.a"):
        out.append((f"SDK {lib}: exported symbols (paygate_*)",
                    [f"{m['sdk'][lib][0]} ({m['sdk'][lib][1]})" if m["sdk"] and lib in m["sdk"]
                     else ("-" if m["sdk"] else m["sdk_note"]) for m in ms]))
    out.append(("limits defined outside limits.h", [str(m["limits"]) for m in ms]))
    for kind, label in (("bare", "sleeps in tests standing in for an event (bare)"),
                        ("poll", "sleeps in tests as the back-off of a wait for an event (poll)"),
                        ("random", "sleeps in tests for a random time before a fault (random)")):
        out.append((label, [str(sum(1 for s in m["sleeps"] if s[2] == kind)) for m in ms]))
    out.append(("coverage (make coverage, total)", [m["coverage"] for m in ms]))
    return out


def main(argv):
    opts = {a for a in argv[1:] if a.startswith("--")}
    commits = [a for a in argv[1:] if not a.startswith("--")]
    if "--help" in opts or "-h" in argv:
        print(__doc__)
        return 0
    if not commits:
        print(__doc__, file=sys.stderr)
        return 2
    unknown = opts - {"--no-build", "--coverage", "--markdown", "--list-sleeps", "--help"}
    if unknown:
        print(f"house_counts: unknown option {sorted(unknown)[0]} (see --help)", file=sys.stderr)
        return 2
    names = []
    for c in commits:
        try:
            names.append(git("rev-parse", "--short", c + "^{commit}").strip())
        except subprocess.CalledProcessError:
            print(f"house_counts: {c} is not a commit", file=sys.stderr)
            return 2
    ms = [measure(c, "--no-build" not in opts, "--coverage" in opts) for c in names]
    table = rows(ms)
    heads = [f"{c} ({n})" if c != n else n for c, n in zip(commits, names)]
    if "--markdown" in opts:
        print("| | " + " | ".join(heads) + " |")
        print("|---|" + "---|" * len(heads))
        for label, cells in table:
            print(f"| {label.strip()} | " + " | ".join(cells) + " |")
    else:
        width = max(len(l) for l, _ in table)
        cw = [max(len(h), *(len(r[1][i]) for r in table)) for i, h in enumerate(heads)]
        print(" " * width + "  " + "  ".join(h.rjust(w) for h, w in zip(heads, cw)))
        for label, cells in table:
            print(label.ljust(width) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, cw)))
    if "--list-sleeps" in opts:
        for c, m in zip(heads, ms):
            print(f"\nsleeps in tests at {c}:")
            for path, line, kind, text in m["sleeps"]:
                print(f"  {kind:4} {path}:{line}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
