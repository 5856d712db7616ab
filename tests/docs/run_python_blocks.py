"""Runs the ```python blocks of a Markdown file in order, as the cells of one notebook: one
namespace, in a scratch folder. A block whose first line imports a module that is not installed
(xarray: Debian's python3-xarray) is skipped with a message, never failed; any other error fails.

Usage: run_python_blocks.py DOC.md SCRATCH_DIR  (with the maunet module on PYTHONPATH)
"""
import importlib.util
import os
import re
import sys
import traceback

FENCE = "`" * 3
OPTIONAL = ("xarray",)  # modules a block may need; without them the block is skipped


def blocks(text):
    """(line of the first code line, code) of each python block."""
    pattern = re.compile("^" + FENCE + r"python\n(.*?)^" + FENCE + "$", re.S | re.M)
    for m in pattern.finditer(text):
        yield text.count("\n", 0, m.start(1)) + 1, m.group(1)


def missing_module(code):
    first = code.lstrip().splitlines()[0] if code.strip() else ""
    m = re.match(r"(?:import|from)\s+([A-Za-z_][\w]*)", first)
    if m and m.group(1) in OPTIONAL and importlib.util.find_spec(m.group(1)) is None:
        return m.group(1)
    return None


def main():
    doc, scratch = sys.argv[1], sys.argv[2]
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    os.makedirs(scratch, exist_ok=True)
    os.chdir(scratch)
    namespace = {"__name__": "__main__"}
    ran = 0
    for line, code in blocks(text):
        absent = missing_module(code)
        if absent:
            print("%s:%d: skipped: the module '%s' is not installed (Debian: python3-%s)" % (doc, line, absent, absent))
            continue
        try:
            exec(compile("\n" * (line - 1) + code, doc, "exec"), namespace)
        except Exception:
            traceback.print_exc()
            print("%s:%d: the block failed" % (doc, line), file=sys.stderr)
            return 1
        ran += 1
        print("%s:%d: ran" % (doc, line))
    if ran == 0:
        print("%s: no python block ran" % doc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
