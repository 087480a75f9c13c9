#!/usr/bin/python3
"""Checks that every module the Python test scripts import comes from a Debian package that a package list names.

The oracles, benchmarks and test tools run under Debian's /usr/bin/python3. A module that is installed on one
machine by hand but missing from scripts/packages*.txt works there and fails on a fresh machine, so this check
runs before the oracles: for each top-level import it finds the file that provides the module in an isolated
interpreter (python3 -I, no user site, no PYTHONPATH), asks dpkg which package owns that file, and requires that
package (or a package of the same name family that a listed one depends on, e.g. python3-sklearn-lib under
python3-sklearn) to be listed. A module that is not installed at all is reported with the package to add.

Usage: check-python-deps.py [--list FILE]...   (default: scripts/packages.txt for oracles and tools,
                                               plus scripts/packages-bench.txt for test/bench)
Exits 1 and names every module whose package is not listed.
"""

import ast
import glob
import importlib.util
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Where the import name and the Debian package name differ; used only to name the package to add for a module
# that is not installed (an installed module's package comes from dpkg).
PACKAGE_HINTS = {
    "cv2": "python3-opencv",
    "PIL": "python3-pil",
    "sklearn": "python3-sklearn",
    "yaml": "python3-yaml",
    "skimage": "python3-skimage",
}

# (glob of scripts, package lists that must provide their imports)
SCOPES = [
    ("test/oracle/*.py", ["scripts/packages.txt"]),
    ("test/tools/*.py", ["scripts/packages.txt"]),
    ("test/bench/**/*.py", ["scripts/packages.txt", "scripts/packages-bench.txt"]),
]


def listed_packages(lists):
    names = set()
    for path in lists:
        with open(os.path.join(REPO, path)) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    names.add(line.split()[0])
    return names


def imported_modules(path):
    """Top-level names of every absolute import in a script, including imports inside functions."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def is_local(module):
    """One of the project's own test scripts, imported by another (the benchmarks put test/oracle on sys.path)."""
    return bool(glob.glob(os.path.join(REPO, "test", "**", module + ".py"), recursive=True))


def module_origin(module):
    """The file that provides a module in an isolated Debian interpreter; "" for built-ins and the standard
    library; None when it cannot be imported."""
    probe = (
        "import importlib.util, sys\n"
        "name = sys.argv[1]\n"
        "if name in sys.builtin_module_names: print(''); raise SystemExit\n"
        "spec = importlib.util.find_spec(name)\n"
        "if spec is None: raise SystemExit(3)\n"
        "import sysconfig\n"
        "origin = spec.origin or (list(spec.submodule_search_locations or [''])[0])\n"
        "stdlib = sysconfig.get_paths()['stdlib']\n"
        "print('' if origin in ('built-in', 'frozen') or (origin.startswith(stdlib) and 'dist-packages' not in origin) else origin)\n"
    )
    r = subprocess.run(["/usr/bin/python3", "-I", "-c", probe, module], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return r.stdout.strip()


def owning_package(path):
    r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return r.stdout.split(":", 1)[0].split(",")[0].strip()


def depends_of(package):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", package], capture_output=True, text=True)
    if r.returncode != 0:
        return set()
    deps = set()
    for alternative in r.stdout.split(","):
        for dep in alternative.split("|"):
            dep = dep.strip().split(" ")[0].split(":")[0]
            if dep:
                deps.add(dep)
    return deps


def provided_by_list(package, listed):
    if package in listed:
        return True
    # A split package such as python3-sklearn-lib under python3-sklearn: the listed package pulls it in.
    return any(package.startswith(name + "-") and package in depends_of(name) for name in listed)


def main():
    lists_override = []
    args = sys.argv[1:]
    while args:
        if args[0] == "--list" and len(args) > 1:
            lists_override.append(args[1])
            args = args[2:]
        else:
            sys.exit(f"usage: {sys.argv[0]} [--list FILE]...")

    problems = []
    checked = {}
    for pattern, lists in SCOPES:
        lists = lists_override or lists
        listed = listed_packages(lists)
        for script in sorted(glob.glob(os.path.join(REPO, pattern), recursive=True)):
            rel = os.path.relpath(script, REPO)
            for module in sorted(imported_modules(script)):
                if module in sys.stdlib_module_names or is_local(module):
                    continue
                if module not in checked:
                    origin = module_origin(module)
                    checked[module] = (origin, owning_package(origin) if origin else None)
                origin, package = checked[module]
                if origin == "":
                    continue
                if origin is None:
                    hint = PACKAGE_HINTS.get(module, f"python3-{module.lower()}")
                    problems.append(f"{rel}: module '{module}' is not installed; add its Debian package "
                                    f"(probably {hint}) to {' or '.join(lists)}")
                elif package is None:
                    problems.append(f"{rel}: module '{module}' comes from {origin}, which no Debian package "
                                    f"owns (installed by hand?); use a Debian package and list it")
                elif not provided_by_list(package, listed):
                    problems.append(f"{rel}: module '{module}' comes from Debian package {package}, which "
                                    f"{' and '.join(lists)} do not list; add it")
    modules = sorted(m for m, (origin, _) in checked.items() if origin)
    if problems:
        print("\n".join(problems))
        print(f"python deps: {len(problems)} imports not covered by the package lists")
        return 1
    print(f"python deps: {len(modules)} third-party modules, each from a listed package: {' '.join(modules)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
