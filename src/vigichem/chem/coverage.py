"""Coverage of the knowledge base: per list, how its entries are identified and what is missing.

``render_markdown(coverage_rows(kb))`` is the table pasted into ``docs/screening.md`` between the markers
``<!-- coverage:start -->`` and ``<!-- coverage:end -->``; a test compares the two so the document cannot
drift from the data.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vigichem.chem.knowledge import KnowledgeBase, load_knowledge_base
from vigichem.chem.models import Entry

START_MARKER = "<!-- coverage:start -->"
END_MARKER = "<!-- coverage:end -->"
_MAX_NAMED = 4  # names shown per "missing" cell before summarising, to keep the table readable


@dataclass(frozen=True)
class CoverageRow:
    """How the entries of one list are identified.

    ``by_cas``, ``by_structure`` and ``by_family`` overlap (an entry may have a CAS and a SMILES);
    ``names_only`` counts entries with none of the three, which screening can match by name alone.
    """

    list_id: str
    short: str
    entries: int
    by_cas: int
    by_structure: int
    by_family: int
    names_only: int
    missing: str


def _is_names_only(entry: Entry) -> bool:
    return not entry.cas and entry.smiles is None and entry.family is None


def _describe_missing(entries: Sequence[Entry]) -> str:
    names_only = [entry.name for entry in entries if _is_names_only(entry)]
    no_structure = [
        entry.name for entry in entries if entry.cas and entry.smiles is None and entry.family is None
    ]
    parts: list[str] = []
    for label, names in (("name only", names_only), ("CAS but no structure", no_structure)):
        if not names:
            continue
        shown = "; ".join(_shorten(name) for name in names[:_MAX_NAMED])
        more = f"; and {len(names) - _MAX_NAMED} more" if len(names) > _MAX_NAMED else ""
        parts.append(f"{label} ({len(names)}): {shown}{more}")
    return " / ".join(parts) if parts else "—"


def _shorten(name: str, limit: int = 48) -> str:
    name = " ".join(name.split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def coverage_rows(kb: KnowledgeBase) -> list[CoverageRow]:
    """One row per list, in list-id order."""
    rows: list[CoverageRow] = []
    for list_id in sorted(kb.lists):
        regulatory_list = kb.lists[list_id]
        entries = regulatory_list.entries
        rows.append(
            CoverageRow(
                list_id=list_id,
                short=regulatory_list.short,
                entries=len(entries),
                by_cas=sum(1 for entry in entries if entry.cas),
                by_structure=sum(1 for entry in entries if entry.smiles is not None),
                by_family=sum(1 for entry in entries if entry.family is not None),
                names_only=sum(1 for entry in entries if _is_names_only(entry)),
                missing=_describe_missing(entries),
            )
        )
    return rows


def _cell(text: str) -> str:
    # A pipe inside a cell would split the Markdown table.
    return text.replace("|", "\\|")


def render_markdown(rows: Sequence[CoverageRow]) -> str:
    """The coverage table as GitHub-flavoured Markdown, with a totals row; ends with a newline."""
    lines = [
        "| list | title | entries | by CAS | by structure | by family rule | names only | missing |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row.list_id}` | {_cell(row.short)} | {row.entries} | {row.by_cas} | {row.by_structure} "
            f"| {row.by_family} | {row.names_only} | {_cell(row.missing)} |"
        )
    lines.append(
        f"| **total** | {len(rows)} lists | {sum(r.entries for r in rows)} | {sum(r.by_cas for r in rows)} "
        f"| {sum(r.by_structure for r in rows)} | {sum(r.by_family for r in rows)} "
        f"| {sum(r.names_only for r in rows)} | |"
    )
    return "\n".join(lines) + "\n"


def update_document(path: Path, table: str) -> bool:
    """Replace the text between the coverage markers of a Markdown file; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"{path}: markers {START_MARKER} and {END_MARKER} not found in order")
    updated = text[: start + len(START_MARKER)] + "\n" + table + text[end:]
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vigichem.chem.coverage [DOC]``: print the table, or rewrite it in DOC's markers."""
    args = list(sys.argv[1:] if argv is None else argv)
    table = render_markdown(coverage_rows(load_knowledge_base()))
    if not args:
        sys.stdout.write(table)
        return 0
    changed = update_document(Path(args[0]), table)
    sys.stdout.write(f"{args[0]}: {'updated' if changed else 'already up to date'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "END_MARKER",
    "START_MARKER",
    "CoverageRow",
    "coverage_rows",
    "main",
    "render_markdown",
    "update_document",
]
