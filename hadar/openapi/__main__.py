"""`python -m hadar.openapi [PATH]`: write the document (default schema/openapi.json)."""

from __future__ import annotations

import sys
from pathlib import Path

from hadar.openapi import render

if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "schema/openapi.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
