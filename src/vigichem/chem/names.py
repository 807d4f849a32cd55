"""Chemical names: normalisation for lookup, and close-name suggestions for unknown names.

A name typed by a user rarely matches the regulation letter for letter: "Sulphuric acid", "sulfuric  acid",
"ACIDE SULFURIQUE", "N,N-diméthylaminoéthanol" and "n,n dimethylaminoethanol" must meet the same key. The
key is the name case-folded, stripped of accents (Unicode NFKD, combining marks removed), with every run of
punctuation and whitespace reduced to one space. Punctuation is kept as a separator rather than removed so
that locants stay apart ("1,2-" and "12-" do not collide).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

_SEPARATORS = re.compile(r"[\s\-‐-―−_,;:.'’`\"()\[\]{}/\\|+]+")
# Spellings that differ between British and American English, and the regulations use both.
_SPELLING_VARIANTS = (("sulph", "sulf"), ("aluminium", "aluminum"))


def normalise_name(name: str) -> str:
    """The lookup key of a chemical name: case-folded, accents removed, punctuation runs as one space.

    British and American spellings of ``sulph``/``sulf`` and ``aluminium``/``aluminum`` are folded to
    one form, because the regulations themselves mix them (EU "sulphuric acid", DEA "sulfuric acid").
    """
    if name.isascii():  # most queries: nothing to decompose (and this runs on every SMILES query)
        without_accents = name
    else:
        decomposed = unicodedata.normalize("NFKD", name)
        # Combining marks are accents; format characters (soft hyphens, zero-width spaces) come from PDFs.
        without_accents = "".join(
            ch for ch in decomposed if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
        )
    key = _SEPARATORS.sub(" ", without_accents.casefold()).strip()
    for variant, canonical in _SPELLING_VARIANTS:
        key = key.replace(variant, canonical)
    return key


def suggest_names(query: str, known: Iterable[str], limit: int = 5, cutoff: float = 0.6) -> list[str]:
    """Up to ``limit`` names from ``known`` that look like ``query``, closest first.

    ``known`` holds display names (as the lists print them); they are compared through their normalised
    keys with :func:`difflib.get_close_matches`, and a known name that contains the whole query as a word
    sequence (e.g. "peroxide" in "hydrogen peroxide") is offered as well when few close matches exist.
    """
    key = normalise_name(query)
    if not key:
        return []
    by_key: dict[str, str] = {}
    for name in known:
        by_key.setdefault(normalise_name(name), name)
    close = difflib.get_close_matches(key, list(by_key), n=limit, cutoff=cutoff)
    suggestions = [by_key[k] for k in close]
    if len(suggestions) < limit and len(key) >= 4:
        padded = f" {key} "
        for candidate_key, display in sorted(by_key.items()):
            if display not in suggestions and padded in f" {candidate_key} ":
                suggestions.append(display)
                if len(suggestions) >= limit:
                    break
    return suggestions


__all__ = ["normalise_name", "suggest_names"]
