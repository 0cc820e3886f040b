"""Every relative link and image in the repository's READMEs, BUILD.md and docs/*.md points at a file
or folder that exists (pure file reads, well under a second).

Checked: markdown links ``[text](target)`` and images ``![alt](target)`` (nested ones too), and
reference definitions ``[name]: target``, outside fenced code blocks and inline code. Skipped:
http(s), mailto and other URL schemes, and pure ``#anchors``; a ``#fragment`` or ``?query`` is
stripped before the check. Targets resolve against the markdown file's own folder and must stay
inside the repository (a link to ``../shared/...`` works only in our workspace, not in a clean clone).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "venv", "runs", "node_modules", "shared", "__pycache__", ".pytest_cache"}
INLINE = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")  # ](target "title")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1\s*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files() -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        here = Path(dirpath)
        for name in filenames:
            if name in ("README.md", "BUILD.md") or (here.name == "docs" and name.endswith(".md")):
                found.append(here / name)
    return sorted(found)


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every link/image/reference target outside code."""
    def blank(m):  # keep line numbers: replace code by as many newlines
        return "\n" * m.group(0).count("\n")
    text = CODE_SPAN.sub(blank, FENCE.sub(blank, text))
    out = []
    for pattern in (INLINE, REFERENCE):
        for m in pattern.finditer(text):
            out.append((text.count("\n", 0, m.start(1)) + 1, m.group(1)))
    return out


def broken_links(md: Path) -> list[str]:
    bad = []
    for line, target in links(md.read_text(encoding="utf-8")):
        if SCHEME.match(target) or target.startswith("#"):
            continue
        path = re.split(r"[#?]", target, maxsplit=1)[0]
        if not path:
            continue
        resolved = ((ROOT / path.lstrip("/")) if path.startswith("/") else (md.parent / path)).resolve()
        if not resolved.is_relative_to(ROOT):  # a clean clone (or GitHub) has nothing there
            bad.append(f"{md.relative_to(ROOT)}:{line}: {target} (outside the repository)")
        elif not resolved.exists():
            bad.append(f"{md.relative_to(ROOT)}:{line}: {target}")
    return bad


def test_markdown_files_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert {"README.md", "BUILD.md", "experiments/README.md"} <= names


def test_link_extraction():
    text = ("See [a](x.md#sec), ![img](y.png \"t\") and [![b](z.png)](w.md), [web](https://e.org), [top](#top),\n"
            "`[code](no.md)`\n```\n[fenced](no2.md)\n```\n[ref]: r.md\n")
    assert [t for _, t in links(text)] == ["x.md#sec", "y.png", "z.png", "w.md", "https://e.org", "#top", "r.md"]


@pytest.mark.parametrize("md", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(md):
    bad = broken_links(md)
    assert not bad, f"{len(bad)} broken relative link(s):\n" + "\n".join(bad)
