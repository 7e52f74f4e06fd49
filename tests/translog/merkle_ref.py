#!/usr/bin/env python3
"""An independent reference of RFC 9162's Merkle tree (section 2.1), written from the RFC's
recursive definitions, for tests/translog/test_merkle.c: it prints test vectors the C code
must reproduce. Lines (all hashes in hex, lists comma-separated, "-" for an empty list):

  root N HASH                 MTH(D[0:N]) of the leaves leaf(i) below
  path M N H1,H2,...          PATH(m, D[0:n]): the inclusion proof of leaf m in a tree of n
  proof M N H1,H2,...         PROOF(m, D[0:n]): the consistency proof from size m to size n

Leaf i (0-based) is the bytes "leaf-<i>" (ASCII). The sizes run 1..MAX (argv[1], 33 by
default), every m for every n."""
import hashlib
import sys


def h(b):
    return hashlib.sha256(b).digest()


def leaf_hash(d):
    return h(b"\x00" + d)


def k_of(n):  # the largest power of two smaller than n (n > 1)
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d):
    if len(d) == 0:
        return h(b"")
    if len(d) == 1:
        return leaf_hash(d[0])
    k = k_of(len(d))
    return h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m, d):  # RFC 9162 2.1.3.1
    n = len(d)
    if n == 1:
        return []
    k = k_of(n)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):  # RFC 9162 2.1.4.1
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = k_of(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def proof(m, d):
    return subproof(m, d, True)


def hexes(hs):
    return ",".join(x.hex() for x in hs) if hs else "-"


def main():
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 33
    leaves = [("leaf-%d" % i).encode() for i in range(top)]
    out = sys.stdout
    for n in range(1, top + 1):
        d = leaves[:n]
        out.write("root %d %s\n" % (n, mth(d).hex()))
        for m in range(n):
            out.write("path %d %d %s\n" % (m, n, hexes(path(m, d))))
        for m in range(1, n + 1):
            out.write("proof %d %d %s\n" % (m, n, hexes(proof(m, d))))


if __name__ == "__main__":
    main()
