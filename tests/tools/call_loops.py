#!/usr/bin/env python3
"""Loops of calls between the files of a library (usage: call_loops.py [--max N] LIB.a ...).

Reads each static library's members with nm: file A calls file B when A uses a global symbol
that B defines. Prints each loop (a strongly connected group of files, two or more) with the
symbols that tie it, then a summary line:

    <lib>: F files, E calls between files, L loops, W files in loops (largest S)

Exits 1 when a library has more files in loops than --max allows (default 0), so that a loop
broken stays broken (tests/tools/meson.build runs it on every module's library)."""
import subprocess
import sys
from collections import defaultdict


def member_name(field):
    """"lib.a:dir/lib.a.p/trades.c.o:00ab" or "lib.a:dir/lib.a.p/trades.c.o:" -> "trades.c"."""
    member = field.split(":")[1]
    member = member.rsplit("/", 1)[-1]
    return member[:-2] if member.endswith(".o") else member


def symbols(lib, which):
    """{member: global symbols} of a static library, which = "--defined-only" or
    "--undefined-only", read with nm (a line: "lib.a:member.o:[address] T name")."""
    out = subprocess.run(["nm", "-A", which, "-g", lib], capture_output=True, text=True,
                         check=True).stdout
    found = defaultdict(set)
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            found[member_name(parts[0])].add(parts[-1])
    return found


def members(lib):
    """{member: (defined symbols, used symbols)} of a static library."""
    defs, uses = symbols(lib, "--defined-only"), symbols(lib, "--undefined-only")
    return {m: (defs[m], uses[m]) for m in sorted(set(defs) | set(uses))}


def strongly_connected(nodes, edges):
    """Tarjan's strongly connected components of the graph (iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    group = []
                    while True:
                        x = stack.pop()
                        on.discard(x)
                        group.append(x)
                        if x == v:
                            break
                    out.append(sorted(group))
            elif w not in index:
                index[w] = low[w] = counter[0]
                counter[0] += 1
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(edges[w]))))
            elif w in on:
                low[v] = min(low[v], index[w])
    return out


def measure(lib):
    files = members(lib)
    owner = {}
    for m, (defs, _) in files.items():
        for s in defs:
            owner[s] = m
    edges, why = defaultdict(set), defaultdict(set)
    for m, (_, uses) in files.items():
        for s in uses:
            o = owner.get(s)
            if o and o != m:
                edges[m].add(o)
                why[(m, o)].add(s)
    loops = [g for g in strongly_connected(sorted(files), edges) if len(g) > 1]
    loops.sort(key=len, reverse=True)
    for i, g in enumerate(loops, 1):
        print(f"{lib}: loop {i}, {len(g)} files: {' '.join(g)}")
        for a in g:
            for b in sorted(edges[a] & set(g)):
                print(f"    {a} -> {b}: {', '.join(sorted(why[(a, b)]))}")
    in_loops = sum(len(g) for g in loops)
    n_edges = sum(len(v) for v in edges.values())
    largest = len(loops[0]) if loops else 0
    print(f"{lib}: {len(files)} files, {n_edges} calls between files, {len(loops)} loops, "
          f"{in_loops} files in loops (largest {largest})")
    return in_loops


def main(argv):
    most = 0
    if len(argv) > 2 and argv[1] == "--max":
        most = int(argv[2])
        argv = argv[2:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    worst = max(measure(lib) for lib in argv[1:])
    if worst > most:
        print(f"call-loops: {worst} files in loops (at most {most}): break the loop "
              "(docs/hacking.md, 'Call loops')")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
