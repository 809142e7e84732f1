#!/usr/bin/env python3
# layout_check.py: checks the source tree's layout rules: no source directly in host/, a purpose line on every file, at most 600 lines, no call cycle between resnet_core's files.
"""Usage: layout_check.py SOURCE_DIR OBJECT...

The call-cycle check reads the objects' symbol tables with `nm`: file A "calls" file B
when A has an undefined symbol that B defines. A cycle (A calls B calls ... A) means two
files cannot be understood, or replaced, one without the other; the fix is to move what
both need into a lower file (as backend/cuda/cuda_fail.c and backend/cpu/cpu_common.c).
"""
import os
import subprocess
import sys

MAX_LINES = 600  # the project's file-size rule (docs: "small files with one job")
SOURCE_EXT = ('.c', '.h', '.cu', '.sh', '.py')


def tracked_sources(src):
    out = subprocess.run(['git', '-C', src, 'ls-files'], capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (a source tarball): walk the tree instead
        files = []
        for d, dirs, fs in os.walk(src):
            dirs[:] = [x for x in dirs if not x.startswith(('.', 'build'))]
            files += [os.path.relpath(os.path.join(d, f), src) for f in fs]
        return sorted(f for f in files if f.endswith(SOURCE_EXT))
    return sorted(f for f in out.stdout.split() if f.endswith(SOURCE_EXT))


def check_files(src, problems):
    for rel in tracked_sources(src):
        path = os.path.join(src, rel)
        if not os.path.isfile(path):
            continue
        if rel.startswith('host/') and rel.count('/') == 1:
            problems.append(f'{rel}: a source file directly in host/; it belongs in a subsystem folder')
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = f.read().split('\n')
        n = len(lines) - (1 if lines and lines[-1] == '' else 0)
        if n > MAX_LINES:
            problems.append(f'{rel}: {n} lines, more than {MAX_LINES}; split it by job')
        first = lines[1] if lines and lines[0].startswith('#!') and len(lines) > 1 else (lines[0] if lines else '')
        if os.path.basename(rel) + ':' not in first:
            problems.append(f'{rel}: the first line (after any #!) must be a purpose comment '
                            f'"NAME: what it holds", got {first[:80]!r}')


def symbols(obj):
    out = subprocess.run(['nm', obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in 'TDBR':
            defined.add(p[2])
        elif len(p) == 2 and p[0] == 'U':
            undefined.add(p[1])
    return defined, undefined


def check_cycles(objs, problems):
    defs, undef = {}, {}
    for o in objs:
        defs[o], undef[o] = symbols(o)
    owner = {s: o for o, ds in defs.items() for s in ds}
    calls = {o: {owner[s] for s in undef[o] if s in owner and owner[s] != o} for o in objs}
    name = lambda o: o.split('.dir/', 1)[-1].rsplit('.o', 1)[0]
    for o in objs:  # a file on a cycle reaches itself; report one path back
        prev, todo = {o: None}, [o]
        while todo:
            v = todo.pop()
            for w in calls[v]:
                if w == o:
                    path = [name(o)]
                    while v is not None and v != o:
                        path.insert(1, name(v))
                        v = prev[v]
                    problems.append('call cycle: ' + ' -> '.join(path + [name(o)]))
                    todo = []
                    break
                if w not in prev:
                    prev[w] = v
                    todo.append(w)
    return len(objs)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, objs = sys.argv[1], sys.argv[2:]
    problems = []
    check_files(src, problems)
    n = check_cycles(objs, problems)
    for p in problems:
        print('layout_check: ' + p)
    print(f'layout_check: {n} objects, {len(tracked_sources(src))} source files, {len(problems)} problems')
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
