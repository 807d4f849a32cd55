"""Structure drawings: RDKit's SVG of a screened chemical, reduced to plain drawing elements before embedding.

The SVG is produced on the server from the structure the screening resolved (never from the user's text
directly) and then rebuilt element by element from a short allow-list of tags and attributes, so that
nothing in it can script, link or load anything when it is placed inline in a page.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markupsafe import Markup

__all__ = ["draw_smiles", "sanitise_svg"]

_SVG_NS = "http://www.w3.org/2000/svg"
_TAGS = frozenset(
    {"svg", "g", "rect", "path", "ellipse", "circle", "line", "polyline", "polygon", "text", "tspan"}
)
_ATTRIBUTES = frozenset(
    {
        "width", "height", "viewBox", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "d",
        "points", "fill", "stroke", "stroke-width", "style", "class", "font-size", "font-family",
        "text-anchor", "dominant-baseline", "opacity", "fill-opacity", "stroke-opacity", "transform",
    }
)  # fmt: skip
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9 #.,:;%()\-_+]*$")
MAX_ATOMS = 200


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _copy(source: ET.Element, title: str | None) -> ET.Element:
    tag = _local(source.tag)
    element = ET.Element(tag)
    for name, value in source.attrib.items():
        key = _local(name)
        if key in _ATTRIBUTES and _SAFE_VALUE.match(value) and "url" not in value.lower():
            element.set(key, value)
    if tag in ("text", "tspan") and source.text and _SAFE_VALUE.match(source.text):
        element.text = source.text
    if tag == "svg":
        element.set("xmlns", _SVG_NS)
        element.set("role", "img")
        if title:
            element.set("aria-label", title)
    for child in source:
        if _local(child.tag) in _TAGS:
            element.append(_copy(child, None))
    return element


def sanitise_svg(svg: str, title: str | None = None) -> Markup:
    """The SVG rebuilt from allowed tags and attributes only (see the module doc), ready to embed inline."""
    root = ET.fromstring(re.sub(r"^<\?xml[^>]*\?>", "", svg.strip()).encode("utf-8"))
    if _local(root.tag) != "svg":
        raise ValueError("not an SVG document")
    return Markup(ET.tostring(_copy(root, title), encoding="unicode"))  # rebuilt from an allow-list


def draw_smiles(
    smiles: str | None, *, title: str | None = None, size: tuple[int, int] = (260, 200)
) -> Markup | None:
    """The structure of ``smiles`` (as the screening resolved it) as safe inline SVG; None if not drawable."""
    if not smiles:
        return None
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None or molecule.GetNumAtoms() == 0 or molecule.GetNumAtoms() > MAX_ATOMS:
        return None
    drawer = rdMolDraw2D.MolDraw2DSVG(*size)
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, molecule)
    drawer.FinishDrawing()
    return sanitise_svg(drawer.GetDrawingText(), title)
