#!/usr/bin/env python3
"""Find dependency cycles among pgscreen's C/C++/CUDA files; exit 1 naming each cycle.

A node is a file without its extension, so foo.c and foo.h are one node. A depends on B when A
#includes B's header, or when a source file A calls a function that B defines (so a header shared by
several sources, like jobs.h, cannot hide a cycle between them). A cycle (a.c includes b.h, b.c includes a.h)
means neither file can be understood, tested or changed without the other; the declarations they
share belong in a header owned by the lower one. Only extension/, kernels/ and test/ are scanned;
system and PostgreSQL headers are not nodes.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ["extension", "kernels", "test"]
EXTS = (".c", ".h", ".cpp", ".cu")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# PostgreSQL style: the return type on one line, the name at the start of the next: "name(args)".
DEFINITION = re.compile(r'^(?P<prev>[^\n]*)\n(?P<name>[A-Za-z_]\w*)\s*\([^;{]*?\)\s*\n\{', re.M)
CALL = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
# PostgreSQL style: the return type on one line, the name at the start of the next: "name(args)".


def node(path):
    return os.path.splitext(os.path.relpath(path, ROOT))[0]


def sources():
    for d in DIRS:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            for f in sorted(files):
                if f.endswith(EXTS):
                    yield os.path.join(base, f)


def main():
    texts = {}
    for path in sources():
        with open(path, encoding="utf-8", errors="replace") as fh:
            texts[path] = fh.read()

    deps = {node(p): set() for p in texts}
    for path, text in texts.items():
        for inc in INCLUDE.findall(text):
            target = os.path.normpath(os.path.join(os.path.dirname(path), inc))
            if target in texts and node(target) != node(path):
                deps[node(path)].add(node(target))

    # A function is owned by the file that defines it (a header's static inline ones by the header).
    defined_in = {}
    for path, text in texts.items():
        for m in DEFINITION.finditer(COMMENT.sub("", text)):
            if "static" in m.group("prev") and not path.endswith(".h"):
                continue
            defined_in.setdefault(m.group("name"), set()).add(node(path))
    # A source file that calls a function defined in another file depends on it, whichever header
    # declares the function: a header shared by several sources must not hide a cycle between them.
    for path, text in texts.items():
        if path.endswith(".h"):
            continue
        code = STRING.sub('""', COMMENT.sub("", text))
        for name in set(CALL.findall(code)):
            owners = defined_in.get(name, set())
            if len(owners) == 1:
                (owner,) = owners
                if owner != node(path):
                    deps[node(path)].add(owner)

    cycles = strongly_connected(deps)
    for cycle in cycles:
        print("cycle: " + " <-> ".join(sorted(cycle)))
        for a in sorted(cycle):
            print("    %s -> %s" % (a, ", ".join(sorted(b for b in deps[a] if b in cycle))))
    print("include cycles: %d among %d files" % (len(cycles), len(deps)))
    return 1 if cycles else 0


def strongly_connected(graph):
    """Tarjan's algorithm (iterative); components of more than one node."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            advanced = False
            for w in children:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    result.append(component)
    return result


if __name__ == "__main__":
    sys.exit(main())
