#!/usr/bin/env python3
"""Puts the results of a run of run.sh into README.md, so its numbers are printed, not typed.

    examples/real_data/run.sh build/examples/maunet real_data_out
    python3 examples/real_data/update_readme.py real_data_out

Replaces the code block after each `<!-- table: NAME -->` line of README.md with the table
of OUTPUT_DIR/results.md for NAME, the text between `<!-- time -->` and `<!-- /time -->`
with the run's time, and copies OUTPUT_DIR/stageiv.png to docs/images/real_data_florence.png.
"""
import re
import shutil
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
readme = here / "README.md"
image = here.parent.parent / "docs" / "images" / "real_data_florence.png"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: update_readme.py OUTPUT_DIR (the folder run.sh wrote)")
    out = Path(sys.argv[1])
    results = (out / "results.md").read_text()
    tables = dict(re.findall(r"<!-- table: (\w+) -->\n(```\n.*?\n```)", results, re.S))
    time = re.search(r"<!-- time --> (.*)", results)
    if not tables or not time:
        sys.exit(f"update_readme.py: {out / 'results.md'} holds no tables or no time: did run.sh finish?")
    text = readme.read_text()
    for name, table in tables.items():
        text, n = re.subn(rf"(<!-- table: {name} -->\n)```\n.*?\n```", lambda m: m.group(1) + table, text,
                          flags=re.S)
        if n != 1:
            sys.exit(f"update_readme.py: README.md has {n} blocks marked <!-- table: {name} -->, expected 1")
    text, n = re.subn(r"<!-- time -->.*?<!-- /time -->", f"<!-- time -->{time.group(1)}<!-- /time -->", text)
    if n < 1:
        sys.exit("update_readme.py: README.md has no <!-- time --> ... <!-- /time --> text")
    readme.write_text(text)
    shutil.copyfile(out / "stageiv.png", image)
    print(f"updated {readme.name} ({len(tables)} tables, time {time.group(1)}) and {image.name}")


if __name__ == "__main__":
    main()
