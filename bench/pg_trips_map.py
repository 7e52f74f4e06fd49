#!/usr/bin/env python3
"""bench/pg_trips' decoder: one line per sendto of the committer thread (one round trip), the
statements it carried, named from the server's log (log_statement=all). Prints one payment's
write transaction, then the round trips per payment.
usage: pg_trips_map.py STRACE PG_LOG PAYMENTS"""
import collections
import re
import struct
import sys

strace, pglog, payments = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = open(pglog, errors="replace").read().splitlines()
# the writer's backend: the session that began the most write transactions
writers = collections.Counter(
    l.split("|")[0] for l in log if "BEGIN ISOLATION LEVEL READ COMMITTED" in l)
writer = writers.most_common(1)[0][0]
names = {}
for l in log:
    m = re.match(r"(\d+)\|LOG:  execute (pay_\d+): (.*)", l)
    if m and m.group(1) == writer:
        names[m.group(2)] = m.group(3)


def statements(payload):
    """The statements of one buffer of frontend messages: Query, Parse of an unnamed one, Bind."""
    out, i = [], 0
    while i + 5 <= len(payload):
        kind, n = chr(payload[i]), struct.unpack(">I", payload[i + 1:i + 5])[0]
        body, i = payload[i + 5:i + 1 + n], i + 1 + n
        parts = body.split(b"\0")
        if kind == "Q":
            out.append(parts[0].decode())
        elif kind == "P" and parts[0] == b"":
            out.append(parts[1].decode())
        elif kind == "B" and parts[1]:
            out.append(names.get(parts[1].decode(), parts[1].decode()))
    return out


trips = []
for l in open(strace):
    m = re.search(r'sendto\(\d+, "(.*?)"(?:\.\.\.)?, \d+,', l)
    if m:
        trips.append(statements(bytes.fromhex(m.group(1).replace("\\x", ""))))
short = lambda s: re.sub(r"\s+", " ", s)[:60]
# one payment: the write transaction that reads an Idempotency-Key, from its BEGIN to COMMIT
for k, t in enumerate(trips):
    if any("FROM pf_idempotency" in s for s in t):
        start = max(i for i in range(k) if any(s.startswith("BEGIN") for s in trips[i]))
        end = next(i for i in range(k, len(trips)) if "COMMIT" in trips[i])
        for i in range(start, end + 1):
            print(f"{i - start + 1:3d}  " + " | ".join(short(s) for s in trips[i]))
        break
print(f"committer round trips: {len(trips)} for {payments} payments: "
      f"{len(trips) / max(payments, 1):.1f} per payment")
