"""Fingerprint similarity to listed chemicals, for the designer-precursor watch.

A structure that matches no list entry but is very similar to a listed chemical deserves a human look
(a ``watch`` finding, never a legal one). :class:`SimilarityIndex` holds Morgan fingerprints (radius 2,
2048 bits, RDKit's ``rdFingerprintGenerator``) of the listed structures, computed once, and answers
:meth:`~SimilarityIndex.nearest` with one bulk Tanimoto pass over the listed fingerprints whose bit count
allows the threshold at all: Tanimoto(a, b) = |a & b| / |a | b| <= min(|a|, |b|) / max(|a|, |b|), so a
listed fingerprint with fewer than ``threshold * |q|`` or more than ``|q| / threshold`` bits cannot reach
it. Most submitted structures are larger than every listed precursor, so most queries compare with few or
none.

Tanimoto on Morgan bits is a coarse measure: very small molecules share most of their few bits with other
small molecules, and a similarity says nothing about legal status. Callers choose the threshold (it is a
setting) and present the result as a prompt to look, with the similarity value.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any, Generic

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from typing_extensions import TypeVar  # a TypeVar default (PEP 696) lets callers write a bare SimilarityIndex

from vigichem.chem.structure import Structure
from vigichem.errors import InvalidInput

__all__ = ["FINGERPRINT_BITS", "FINGERPRINT_RADIUS", "SimilarityIndex"]

FINGERPRINT_RADIUS = 2
FINGERPRINT_BITS = 2048

KeyT = TypeVar("KeyT", default=Any)


class SimilarityIndex(Generic[KeyT]):
    """Morgan-fingerprint index over listed structures, keyed by whatever the caller passes.

    ``items`` pairs a key (a list-entry reference, a name, an id) with the standardised structure; keys
    need not be unique nor hashable. Build it once; :meth:`nearest` holds no state between calls.
    """

    def __init__(self, items: Sequence[tuple[KeyT, Structure]]) -> None:
        self._generator = rdFingerprintGenerator.GetMorganGenerator(
            radius=FINGERPRINT_RADIUS, fpSize=FINGERPRINT_BITS
        )
        fingerprints = [self._generator.GetFingerprint(structure.mol) for _, structure in items]
        # Sorted by bit count (stable, so equal scores keep the callers' order through `_positions`):
        # the candidates for a query are one contiguous slice.
        order = sorted(range(len(items)), key=lambda position: fingerprints[position].GetNumOnBits())
        self._keys: list[KeyT] = [key for key, _ in items]
        self._positions = order
        self._fingerprints = [fingerprints[position] for position in order]
        self._bit_counts = [fingerprint.GetNumOnBits() for fingerprint in self._fingerprints]

    def __len__(self) -> int:
        return len(self._keys)

    def fingerprint(self, structure: Structure) -> DataStructs.ExplicitBitVect:
        """The Morgan fingerprint the index uses for ``structure``."""
        fingerprint: DataStructs.ExplicitBitVect = self._generator.GetFingerprint(structure.mol)
        return fingerprint

    def nearest(
        self, structure: Structure, threshold: float, limit: int | None = None
    ) -> list[tuple[KeyT, float]]:
        """Listed structures with Tanimoto similarity >= ``threshold`` to ``structure``, best first.

        Ties keep the order of the items given to the index. ``limit`` caps the number returned.
        Raises :class:`InvalidInput` for a threshold outside (0, 1] or a negative limit.
        """
        if not 0.0 < threshold <= 1.0:
            raise InvalidInput(
                f"similarity threshold must be in (0, 1], got {threshold}", details={"threshold": threshold}
            )
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must not be negative, got {limit}", details={"limit": limit})
        query = self._generator.GetFingerprint(structure.mol)
        low, high = self._window(query.GetNumOnBits(), threshold)
        if low >= high:
            return []
        scores: list[float] = DataStructs.BulkTanimotoSimilarity(query, self._fingerprints[low:high])
        if max(scores) < threshold:
            # Nearly every query is far from every listed structure: skip the per-score Python loop.
            return []
        hits = [
            (self._positions[low + offset], score)
            for offset, score in enumerate(scores)
            if score >= threshold
        ]
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        if limit is not None:
            hits = hits[:limit]
        return [(self._keys[position], round(score, 4)) for position, score in hits]

    def reaches(self, mol: Chem.Mol, threshold: float) -> bool:
        """True when some listed structure has Tanimoto similarity >= ``threshold`` to ``mol``.

        The same answer as ``bool(nearest(structure, threshold))`` for a structure whose ``mol`` is
        ``mol``, without building the structure or the hit list: screening's quick negative path asks only
        this, for nearly every query. Raises :class:`InvalidInput` for a threshold outside (0, 1].
        """
        if not 0.0 < threshold <= 1.0:
            raise InvalidInput(
                f"similarity threshold must be in (0, 1], got {threshold}", details={"threshold": threshold}
            )
        query = self._generator.GetFingerprint(mol)
        low, high = self._window(query.GetNumOnBits(), threshold)
        if low >= high:
            return False
        best: float = max(DataStructs.BulkTanimotoSimilarity(query, self._fingerprints[low:high]))
        return best >= threshold

    def _window(self, bits: int, threshold: float) -> tuple[int, int]:
        """The slice of the listed fingerprints (sorted by bit count) that can reach ``threshold``.

        Tanimoto is at most min/max of the two bit counts; the small margin keeps any fingerprint that
        BulkTanimotoSimilarity would score exactly at the threshold despite floating-point rounding.
        """
        low = bisect.bisect_left(self._bit_counts, threshold * bits - 1e-9)
        high = bisect.bisect_right(self._bit_counts, bits / threshold + 1e-9)
        return low, high
