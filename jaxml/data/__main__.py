"""``python -m jaxml.data [DATA_DIR]``: print the dataset catalog as a table."""
from __future__ import annotations

import sys

from .registry import catalog
from .sources import data_dir as default_data_dir


def format_table(rows: list[dict]) -> str:
    cols = [("name", "name"), ("available", "local"), ("description", "description"),
            ("splits", "splits"), ("shapes", "shapes"), ("source", "source")]
    cells = [[
        r["name"],
        "yes" if r["available"] else "no",
        r["description"],
        ",".join(r["splits"]),
        r["shapes"],
        r["source"],
    ] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h) in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    out = [line([h for _, h in cols]), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    root = argv[0] if argv else None
    rows = catalog(root)
    print(f"jaxml datasets (data dir: {root or default_data_dir()}; "
          f"set JAXML_DATA_DIR to change it)\n")
    print(format_table(rows))
    missing = [r["name"] for r in rows if not r["available"]]
    if missing:
        print(f"\nNot available locally: {', '.join(missing)}. "
              f"load(name) says which files to put where.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
