#!/usr/bin/env python3
"""Prints the ```sql blocks of a Markdown file as one psql script, so the SQL of the README's
tour and of the worked examples in docs/ runs as golden tests (tests/readme/expected/) and
cannot rot."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"^```sql\n(.*?)^```", text, flags=re.S | re.M)
if not blocks:
    sys.exit(f"no ```sql blocks in {sys.argv[1]}")
print(f"-- extracted from {sys.argv[1]} by tests/readme/extract.py")
print("\\set SHOW_CONTEXT never")
for block in blocks:
    print(block.rstrip("\n"))
