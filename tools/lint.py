#!/usr/bin/env python3
"""The repository's structural checks (`make lint`, part of `make test`).

  tools/lint.py           check; prints one line per problem and ends with "N passed, N failed"
  tools/lint.py --self-test   check that each check fails on a small tree that breaks it
  tools/lint.py --dot     print the folder-level include graph in graphviz's language
                          (docs/img/layers.dot is this output; `make layers` redraws docs/img/layers.svg)

Checks:
  layers     every `#include "DIR/..."` of a source file points down the layer order below (or inside
             its own folder); folders of one layer know nothing of each other
  libraries  MPI, HDF5 and YAML headers only where the layer table allows them
  cycles     no circle of includes between files of different folders
  outside    no source, script or document refers to a file outside the repository
  length     no C source or header over 700 lines (tests excepted)
  diagram    docs/img/layers.dot is the graph the sources have now
"""
import os
import re
import subprocess
import sys

# Layer of each source folder: a file may include its own folder and folders of lower layers.
LAYERS = {
    "base": 0,
    "nn": 1,
    "data": 2, "model": 2, "mpi": 2,
    "model/peft": 2.5,
    "run": 3,
    "train": 4,
    "stages": 5,
    "pipeline": 6,
}
# Folders of one layer that may not include each other (model/peft sits above model on purpose).
# System headers and the folders whose files may include them.
LIBRARY_HEADERS = {
    "mpi.h": {"mpi", "train", "stages"},
    "hdf5.h": {"base", "mpi", "data", "model", "stages", "train"},
    "yaml.h": {"run"},
}
MAX_LINES = 700
# Names of the planning documents that live outside the repository: nothing may cite them.
OUTSIDE = re.compile(r"\.\./shared|shared/docs|DESIGN\.md|formats\.md|mixphm-spec|routing-spec|toolchain\.md|"
                     r"kshot_reference\.py")
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^">]+)[">]', re.M)
SOURCE_EXT = (".c", ".h", ".cc")
TEXT_EXT = SOURCE_EXT + (".md", ".py", ".sh", ".yaml", ".in", ".txt")


def repo_files(root):
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    return sorted(f for f in out if f and os.path.isfile(os.path.join(root, f)))


def folder_of(path):
    """The layered folder a file belongs to, or None (tests, bench, tools, docs ...)."""
    d = os.path.dirname(path)
    while d:
        if d in LAYERS:
            return d
        d = os.path.dirname(d)
    return None


def includes(root, path):
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        return [(kind, name) for kind, name in INCLUDE.findall(f.read())]


def include_graph(root, files):
    """File-level edges (from, to) of the quoted includes between layered files."""
    known = set(files)
    edges = []
    for f in files:
        if not f.endswith(SOURCE_EXT) or folder_of(f) is None:
            continue
        for kind, name in includes(root, f):
            if kind == '"' and name in known and folder_of(name) is not None:
                edges.append((f, name))
    return edges


def unit(path):
    """A .c and its .h are one unit for the circle check."""
    return os.path.splitext(path)[0]


def cycles_across_folders(edges):
    """Strongly connected components (Tarjan) of the unit graph that span more than one folder."""
    graph = {}
    for a, b in edges:
        ua, ub = unit(a), unit(b)
        if ua != ub:
            graph.setdefault(ua, set()).add(ub)
            graph.setdefault(ub, set())
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [sorted(c) for c in comps if len({folder_of(u + ".h") or folder_of(u + ".c") for u in c}) > 1]


def folder_edges(edges):
    out = {}
    for a, b in edges:
        fa, fb = folder_of(a), folder_of(b)
        if fa != fb:
            out[(fa, fb)] = out.get((fa, fb), 0) + 1
    return out


def dot(edges):
    lines = ["// The folder-level include graph of mixphm's sources, written by `tools/lint.py --dot`.",
             "// An arrow A -> B: files in A include headers of B (the label counts the includes).",
             "digraph layers {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=9];']
    by_layer = {}
    for f, layer in LAYERS.items():
        by_layer.setdefault(layer, []).append(f)
    for layer in sorted(by_layer, reverse=True):
        names = " ".join('"%s";' % f for f in sorted(by_layer[layer]))
        lines.append("  { rank=same; %s }" % names)
    for (a, b), n in sorted(folder_edges(edges).items()):
        lines.append('  "%s" -> "%s" [label="%d"];' % (a, b, n))
    lines.append("}")
    return "\n".join(lines) + "\n"


def self_test():
    """Each check must fail on a tree made to break it, and pass on a clean one."""
    import tempfile
    cases = {
        "clean": {},
        "layers": {"nn/a.h": '#include "model/b.h"\n', "model/b.h": ""},
        "peers": {"data/a.h": '#include "mpi/b.h"\n', "mpi/b.h": ""},
        "libraries": {"nn/a.c": "#include <mpi.h>\n"},
        "cycles": {"model/peft/a.h": '#include "model/b.h"\n', "model/b.h": '#include "model/peft/a.h"\n'},
        "outside": {"docs/x.md": "see DESIGN" + ".md\n"},
        "length": {"base/long.c": "int x;\n" * (MAX_LINES + 1)},
    }
    check_of = {"peers": "layers"}
    passed = failed = 0
    for name, tree in cases.items():
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["git", "init", "-q", d], check=True)
            for f, text in tree.items():
                os.makedirs(os.path.join(d, os.path.dirname(f)), exist_ok=True)
                with open(os.path.join(d, f), "w") as fh:
                    fh.write(text)
            files = repo_files(d)
            os.makedirs(os.path.join(d, "docs", "img"), exist_ok=True)
            with open(os.path.join(d, "docs", "img", "layers.dot"), "w") as fh:
                fh.write(dot(include_graph(d, files)))
            r = subprocess.run([sys.executable, os.path.abspath(__file__)], cwd=d, capture_output=True, text=True)
            if name == "clean":
                good = r.returncode == 0
            else:
                good = r.returncode != 0 and ("not ok - %s:" % check_of.get(name, name)) in r.stdout
            passed += good
            failed += not good
            print("%s - the %s tree %s" % ("ok" if good else "not ok", name,
                                           "passes" if name == "clean" else "fails its check"))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def main():
    if "--self-test" in sys.argv[1:]:
        return self_test()
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                          check=True).stdout.strip()
    files = repo_files(root)
    edges = include_graph(root, files)
    if "--dot" in sys.argv[1:]:
        sys.stdout.write(dot(edges))
        return 0
    passed = failed = 0

    def report(ok, what, problems):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("ok - %s" % what)
        else:
            failed += 1
            print("not ok - %s" % what)
            for p in problems[:50]:
                print("    " + p)
            if len(problems) > 50:
                print("    ... and %d more" % (len(problems) - 50))

    problems = []
    for a, b in edges:
        fa, fb = folder_of(a), folder_of(b)
        if fa == fb:
            continue
        if LAYERS[fb] > LAYERS[fa]:
            problems.append("%s includes %s: %s is above %s in the layer order" % (a, b, fb, fa))
        elif LAYERS[fb] == LAYERS[fa]:
            problems.append("%s includes %s: %s and %s are one layer and know nothing of each other" % (a, b, fa, fb))
    report(not problems, "layers: every include points down the layer order", problems)

    problems = []
    for f in files:
        fo = folder_of(f)
        if fo is None or not f.endswith(SOURCE_EXT):
            continue
        top = fo.split("/")[0]
        for kind, name in includes(root, f):
            allowed = LIBRARY_HEADERS.get(name)
            if kind == "<" and allowed is not None and top not in allowed:
                problems.append("%s includes <%s>: only %s may" % (f, name, ", ".join(sorted(allowed))))
    report(not problems, "libraries: MPI, HDF5 and YAML only in the folders that own them", problems)

    comps = cycles_across_folders(edges)
    report(not comps, "cycles: no circle of includes between files of different folders",
           [" -> ".join(c) for c in comps])

    problems = []
    for f in files:
        if not f.endswith(TEXT_EXT) and os.path.basename(f) != "Makefile":
            continue
        if f == "tools/lint.py":
            continue
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            for no, line in enumerate(fh, 1):
                if OUTSIDE.search(line):
                    problems.append("%s:%d: %s" % (f, no, line.strip()[:120]))
    report(not problems, "outside: nothing refers to a file outside the repository", problems)

    problems = []
    for f in files:
        if f.endswith(SOURCE_EXT) and not f.startswith("tests/"):
            with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                n = sum(1 for _ in fh)
            if n > MAX_LINES:
                problems.append("%s: %d lines (split it by idea)" % (f, n))
    report(not problems, "length: no source file over %d lines" % MAX_LINES, problems)

    path = os.path.join(root, "docs", "img", "layers.dot")
    want = dot(edges)
    have = open(path).read() if os.path.exists(path) else ""
    report(have == want, "diagram: docs/img/layers.dot is the current include graph",
           ["run `make layers` to redraw it (docs/img/layers.dot and layers.svg)"])

    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
