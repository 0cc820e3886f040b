"""``python -m jaxml.data [DATA_DIR]``: print the dataset catalog as a table.

``python -m jaxml.data download [--data-dir DIR] [--progress | --no-progress] NAME[:VARIANT]... | all``:
put the upstream files of each dataset in ``<data dir>/<folder>/``, verified by SHA-256
(:mod:`jaxml.data.download`); a dataset already there is left alone and nothing is fetched.
``all`` = every downloadable dataset (mnist, fashion_mnist, cifar10, imdb, shakespeare = tiny
Shakespeare). Variants: ``imdb:npz`` (default, Keras' imdb.npz) and ``imdb:aclImdb`` (the raw
reviews). With ``JAXML_OFFLINE=1`` nothing is downloaded: a missing dataset is an error.
``JAXML_DATA_MIRROR`` names base URLs tried before upstream. Exit status 0 when every
dataset is in place, 1 otherwise (one message per failure on stderr, no traceback).
Without a variant, a dataset the readers can already load from the folder (e.g. shakespeare's
complete_works.txt, imdb's aclImdb/) counts as present.
"""
from __future__ import annotations

import argparse
import sys

from .registry import catalog, download_hint, get_spec
from .sources import data_dir as default_data_dir
from .sources import resolve_root


def format_table(rows: list[dict]) -> str:
    cols = [("name", "name"), ("available", "local"), ("download", "download"), ("description", "description"),
            ("splits", "splits"), ("shapes", "shapes"), ("source", "source")]
    cells = [[
        r["name"],
        "yes" if r["available"] else "no",
        r["download"],
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


def download_main(argv: list[str]) -> int:
    from . import download as dl
    from .errors import DataError
    from .upstream import UPSTREAM, get_bundle

    parser = argparse.ArgumentParser(prog="python -m jaxml.data download",
                                     description="Download datasets from upstream, verified by SHA-256.")
    parser.add_argument("names", nargs="+", metavar="NAME[:VARIANT]", help="datasets, or 'all'")
    parser.add_argument("--data-dir", default=None,
                        help="data folder (default: $JAXML_DATA_DIR, else ~/.cache/jaxml/data)")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    args = parser.parse_args(argv)
    root = resolve_root(args.data_dir)
    names = list(UPSTREAM) if args.names == ["all"] else args.names
    failed = 0
    for item in names:
        name, _, variant = item.partition(":")
        try:
            get_spec(name)
            bundle = get_bundle(name, variant or None)
        except (DataError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        where = root / bundle.folder
        label = name if bundle is UPSTREAM[name][0] else f"{name}:{bundle.variant}"
        if dl.is_present(bundle, root) or (not variant and get_spec(name).is_available(root)):
            print(f"{label}: present in {where if dl.is_present(bundle, root) else root / get_spec(name).folder}; "
                  f"nothing downloaded")
            continue
        if dl.offline():
            print(f"error: dataset {label!r} is not in {where} and JAXML_OFFLINE=1 forbids downloading it.\n"
                  f"  {download_hint(name, bundle.variant)}\n"
                  f"  Or put the files there by hand (`python -m jaxml.data` lists them) or point "
                  f"JAXML_DATA_DIR at a folder that has them.", file=sys.stderr)
            failed += 1
            continue
        try:
            folder = dl.download(name, root, bundle=bundle, progress=args.progress)
        except DataError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        print(f"{label}: downloaded and verified into {folder}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if argv and argv[0] == "download":
        return download_main(argv[1:])
    root = argv[0] if argv else None
    rows = catalog(root)
    print(f"jaxml datasets (data dir: {root or default_data_dir()}; "
          f"set JAXML_DATA_DIR to change it)\n")
    print(format_table(rows))
    missing = [r["name"] for r in rows if not r["available"]]
    if missing:
        print(f"\nNot available locally: {', '.join(missing)}. load(name) downloads those marked "
              f"'download: yes' (unless JAXML_OFFLINE=1); `python -m jaxml.data download NAME` does it up front.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
