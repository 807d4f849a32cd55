"""vigichem: chemical security along the whole supply chain.

Domain packages (see ``DESIGN.md``): :mod:`vigichem.chem` (regulatory screening),
:mod:`vigichem.ledger` (EPCIS custody ledger), and, in later releases, ``detect``, ``cases``,
``network``, ``sim``, ``api`` and ``web``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
