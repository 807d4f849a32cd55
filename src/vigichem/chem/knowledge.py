"""The regulatory knowledge base: the curated list files and jurisdictions, validated at load.

Layout of a knowledge-base directory (the default is ``vigichem/chem/data``)::

    jurisdictions.yaml        codes, names, which lists apply, which jurisdictions they inherit from
    lists/<list-id>.yaml      one regulatory list per file; the file stem is the list id

Everything is checked when loaded; a bad file raises :class:`~vigichem.errors.KnowledgeBaseError` whose
message starts with the file (relative to the knowledge-base directory) and the path inside it, e.g.
``lists/cwc-2.yaml: entries[3].cas[0]: check digit is 3, expected 7``. The format is documented in
``docs/knowledge-base.md``. No SMILES is parsed here: structures are standardised by the screening code.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from vigichem.chem.cas import normalise_cas
from vigichem.chem.models import Entry, Jurisdiction, Limit, RegulatoryList
from vigichem.errors import InvalidCAS, KnowledgeBaseError, UnknownJurisdiction

DEFAULT_DATA_DIR = Path(__file__).parent / "data"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_JURISDICTION_RE = re.compile(r"^[A-Z]{2,5}$")
_FAMILY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_M = TypeVar("_M", bound=BaseModel)
# The C loader (libyaml) is several times faster; both are safe loaders.
_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """All regulatory lists and jurisdictions, validated. Treat the mappings as read-only."""

    lists: dict[str, RegulatoryList]
    jurisdictions: dict[str, Jurisdiction]
    root: Path | None = None

    def jurisdiction(self, code: str) -> Jurisdiction:
        """The jurisdiction with this code (case-insensitive), or :class:`UnknownJurisdiction`."""
        found = self.jurisdictions.get(code.strip().upper())
        if found is None:
            known = ", ".join(sorted(self.jurisdictions))
            raise UnknownJurisdiction(
                f"unknown jurisdiction {code!r}; known: {known}", details={"jurisdiction": code}
            )
        return found

    def jurisdiction_chain(self, code: str) -> list[Jurisdiction]:
        """The jurisdiction and, depth first, every jurisdiction it inherits from (each once)."""
        seen: dict[str, Jurisdiction] = {}

        def visit(current: Jurisdiction) -> None:
            if current.code in seen:
                return
            seen[current.code] = current
            for parent in current.inherits:
                visit(self.jurisdictions[parent])

        visit(self.jurisdiction(code))
        return list(seen.values())

    def lists_for(self, jurisdiction_code: str) -> list[RegulatoryList]:
        """Every list that applies in a jurisdiction, its own first, then those it inherits (each once)."""
        ids: dict[str, None] = {}
        for jurisdiction in self.jurisdiction_chain(jurisdiction_code):
            ids.update(dict.fromkeys(jurisdiction.lists))
        return [self.lists[list_id] for list_id in ids]

    def jurisdictions_of(self, list_id: str) -> list[str]:
        """Codes of every jurisdiction where a list applies, directly or by inheritance."""
        return [
            code for code in sorted(self.jurisdictions) if list_id in {r.id for r in self.lists_for(code)}
        ]

    def entries(self, list_ids: Sequence[str] | None = None) -> Iterator[tuple[RegulatoryList, Entry]]:
        """Every (list, entry) pair, in file order; only the given lists when ``list_ids`` is set."""
        for list_id in list_ids if list_ids is not None else self.lists:
            regulatory_list = self.lists[list_id]
            for entry in regulatory_list.entries:
                yield regulatory_list, entry

    def family_ids(self) -> set[str]:
        """The family-rule ids that list entries refer to."""
        return {entry.family for _, entry in self.entries() if entry.family is not None}


def in_force(item: RegulatoryList | Entry | Limit, on: dt.date | None) -> bool:
    """True when a list, entry or limit is in force on a date (``None``: today's law, every item)."""
    if on is None:
        return True
    effective_to = getattr(item, "effective_to", None)
    if item.effective_from is not None and on < item.effective_from:
        return False
    return effective_to is None or on < effective_to


def load_knowledge_base(path: Path | None = None) -> KnowledgeBase:
    """Load and validate a knowledge-base directory; the packaged one (cached) when ``path`` is None."""
    if path is None:
        return _load_default()
    return _load(Path(path))


@functools.lru_cache(maxsize=1)
def _load_default() -> KnowledgeBase:
    return _load(DEFAULT_DATA_DIR)


# ---- loading -------------------------------------------------------------------------------------------


def _load(root: Path) -> KnowledgeBase:
    lists_dir = root / "lists"
    if not lists_dir.is_dir():
        raise KnowledgeBaseError(f"{root}: no lists/ directory", details={"path": str(root)})
    lists: dict[str, RegulatoryList] = {}
    for file in sorted(lists_dir.glob("*.yaml")):
        regulatory_list = _parse_model(RegulatoryList, _read_yaml(root, file), _rel(root, file))
        _check_list(regulatory_list, file.stem, _rel(root, file))
        lists[regulatory_list.id] = regulatory_list
    if not lists:
        raise KnowledgeBaseError(f"{_rel(root, lists_dir)}: no list files", details={"path": str(lists_dir)})

    jurisdictions_file = root / "jurisdictions.yaml"
    raw = _read_yaml(root, jurisdictions_file)
    rel = _rel(root, jurisdictions_file)
    if not isinstance(raw, dict) or not isinstance(raw.get("jurisdictions"), list):
        _fail(rel, "", "expected a mapping with a 'jurisdictions' list")
    jurisdictions: dict[str, Jurisdiction] = {}
    for index, item in enumerate(raw["jurisdictions"]):
        jurisdiction = _parse_model(Jurisdiction, item, rel, prefix=f"jurisdictions[{index}]")
        if jurisdiction.code in jurisdictions:
            _fail(rel, f"jurisdictions[{index}].code", f"duplicate jurisdiction {jurisdiction.code!r}")
        if not _JURISDICTION_RE.match(jurisdiction.code):
            _fail(rel, f"jurisdictions[{index}].code", f"{jurisdiction.code!r} is not 2-5 capital letters")
        jurisdictions[jurisdiction.code] = jurisdiction

    _check_references(root, lists, jurisdictions)
    return KnowledgeBase(lists=lists, jurisdictions=jurisdictions, root=root)


def _rel(root: Path, file: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return str(file)


def _fail(file: str, where: str, message: str) -> NoReturn:
    location = f"{file}: {where}: " if where else f"{file}: "
    raise KnowledgeBaseError(location + message, details={"file": file, "path": where})


def _read_yaml(root: Path, file: Path) -> Any:
    rel = _rel(root, file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(rel, "", "file not found")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(rel, "", f"cannot read: {exc}")
    try:
        return yaml.load(text, Loader=_YamlLoader)  # a safe loader, see _YamlLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        _fail(rel, where, f"YAML syntax error: {problem}")


def _loc_to_path(loc: Sequence[int | str], prefix: str = "") -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _parse_model(model: type[_M], raw: Any, file: str, prefix: str = "") -> _M:
    if not isinstance(raw, dict):
        _fail(file, prefix, f"expected a mapping, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        extra = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        _fail(file, _loc_to_path(first["loc"], prefix) or prefix, first["msg"] + extra)


def _check_limit(limit: Limit, file: str, where: str) -> None:
    if not limit.source.strip():
        _fail(file, f"{where}.source", "a limit must name its legal source")
    if limit.kind == "concentration":
        if limit.value > 100:
            _fail(file, f"{where}.value", f"a concentration is at most 100 %, got {limit.value}")
        if limit.licence_upper_limit is not None and not limit.value <= limit.licence_upper_limit <= 100:
            _fail(file, f"{where}.licence_upper_limit", "must lie between the limit value and 100 %")
    if limit.effective_from and limit.effective_to and limit.effective_to <= limit.effective_from:
        _fail(file, f"{where}.effective_to", "must be after effective_from")


def _check_list(regulatory_list: RegulatoryList, stem: str, file: str) -> None:
    if regulatory_list.id != stem:
        _fail(file, "id", f"list id {regulatory_list.id!r} must equal the file name {stem!r}")
    if not _ID_RE.match(regulatory_list.id):
        _fail(file, "id", f"{regulatory_list.id!r}: use lower-case letters, digits and hyphens")
    if not regulatory_list.source.strip():
        _fail(file, "source", "a list must name its legal source")
    for index, limit in enumerate(regulatory_list.limits):
        _check_limit(limit, file, f"limits[{index}]")
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(regulatory_list.entries):
        where = f"entries[{index}]"
        key = (entry.entry, entry.name.casefold())
        if key in seen:
            _fail(
                file,
                f"{where}.name",
                f"duplicate entry {entry.entry!r} {entry.name!r} (also entries[{seen[key]}])",
            )
        seen[key] = index
        if not entry.source.strip():
            _fail(file, f"{where}.source", "every entry must name its legal source")
        if not entry.name.strip():
            _fail(file, f"{where}.name", "empty name")
        for cas_index, cas in enumerate(entry.cas):
            try:
                canonical = normalise_cas(cas)
            except InvalidCAS as exc:
                _fail(file, f"{where}.cas[{cas_index}]", exc.message)
            if canonical != cas:
                _fail(file, f"{where}.cas[{cas_index}]", f"write {cas!r} in canonical form {canonical!r}")
        if entry.smiles is not None and (not entry.smiles or any(c.isspace() for c in entry.smiles)):
            _fail(file, f"{where}.smiles", "a SMILES must be non-empty and contain no blanks")
        if entry.family is not None and not _FAMILY_RE.match(entry.family):
            _fail(file, f"{where}.family", f"{entry.family!r} is not a family id")
        if entry.effective_from and entry.effective_to and entry.effective_to <= entry.effective_from:
            _fail(file, f"{where}.effective_to", "must be after effective_from")
        for limit_index, limit in enumerate(entry.limits):
            _check_limit(limit, file, f"{where}.limits[{limit_index}]")


def _check_references(
    root: Path, lists: Mapping[str, RegulatoryList], jurisdictions: Mapping[str, Jurisdiction]
) -> None:
    rel = _rel(root, root / "jurisdictions.yaml")
    for index, jurisdiction in enumerate(jurisdictions.values()):
        for list_index, list_id in enumerate(jurisdiction.lists):
            if list_id not in lists:
                _fail(rel, f"jurisdictions[{index}].lists[{list_index}]", f"unknown list {list_id!r}")
        for parent_index, parent in enumerate(jurisdiction.inherits):
            if parent not in jurisdictions:
                _fail(
                    rel,
                    f"jurisdictions[{index}].inherits[{parent_index}]",
                    f"unknown jurisdiction {parent!r}",
                )
    _check_no_cycle(rel, jurisdictions)
    for regulatory_list in lists.values():
        file = f"lists/{regulatory_list.id}.yaml"
        for index, other in enumerate(regulatory_list.precedence_over_me):
            if other not in lists or other == regulatory_list.id:
                _fail(file, f"precedence_over_me[{index}]", f"unknown list {other!r}")
        limits = [(f"limits[{i}]", limit) for i, limit in enumerate(regulatory_list.limits)]
        for entry_index, entry in enumerate(regulatory_list.entries):
            limits += [(f"entries[{entry_index}].limits[{i}]", limit) for i, limit in enumerate(entry.limits)]
        for where, limit in limits:
            for code_index, code in enumerate(limit.jurisdictions or ()):
                if code not in jurisdictions:
                    _fail(file, f"{where}.jurisdictions[{code_index}]", f"unknown jurisdiction {code!r}")


def _check_no_cycle(file: str, jurisdictions: Mapping[str, Jurisdiction]) -> None:
    state: dict[str, str] = {}

    def visit(code: str, trail: list[str]) -> None:
        if state.get(code) == "done":
            return
        if state.get(code) == "active":
            _fail(file, "", "jurisdictions inherit in a cycle: " + " -> ".join([*trail, code]))
        state[code] = "active"
        for parent in jurisdictions[code].inherits:
            visit(parent, [*trail, code])
        state[code] = "done"

    for code in jurisdictions:
        visit(code, [])


__all__ = ["DEFAULT_DATA_DIR", "KnowledgeBase", "in_force", "load_knowledge_base"]
