"""The lot trace drawn as an SVG graph on the server (no graph library in the browser).

Layout in layers from left to right: production, then each site one step after the site it received the lot
from, then the chain's ends (buyers, use, disposal). A site's buyers are drawn as one node ("12 buyers") so a
retail lot stays readable; every edge is labelled with the quantity moved (summed over its events) and the
number of events. All text is escaped: labels come from master data and references.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from markupsafe import Markup, escape

from vigichem.ledger.trace import LotTrace

__all__ = ["trace_svg"]

_BOX_W, _BOX_H, _COL_W, _ROW_H, _PAD = 190, 46, 330, 70, 20
_COLOURS = {
    "production": "#e3f2fd",
    "site": "#fffde7",
    "location": "#f5f5f5",
    "buyer": "#fce4ec",
    "use": "#ede7f6",
    "disposal": "#efebe9",
}
_EDGE_COLOURS = {
    "produced": "#1e88e5",
    "shipped": "#6d4c41",
    "received": "#43a047",
    "sold": "#d81b60",
    "used": "#5e35b1",
    "destroyed": "#757575",
}


@dataclass(slots=True)
class _Box:
    id: str
    kind: str
    label: str
    detail: str
    layer: int = 1
    row: int = 0


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


Edges = dict[tuple[str, str], dict[str, list[float]]]


def _boxes(trace: LotTrace) -> tuple[dict[str, _Box], Edges]:
    """Nodes (buyers grouped per site) and, per (source, target), each kind's quantity and event count."""
    boxes: dict[str, _Box] = {}
    buyers: dict[str, set[str]] = defaultdict(set)
    kinds = {node.id: node for node in trace.nodes}
    edges: Edges = {}
    for edge in trace.edges:
        target = edge.target
        if kinds[target].kind == "buyer":
            buyers[edge.source].add(target)
            target = f"buyers@{edge.source}"
        summed = edges.setdefault((edge.source, target), {}).setdefault(edge.kind, [0.0, 0.0])
        summed[0] += edge.quantity or 0.0
        summed[1] += 1
    for node in trace.nodes:
        if node.kind == "buyer":
            continue
        detail = " · ".join(part for part in (node.organisation, node.country) if part) or node.kind
        boxes[node.id] = _Box(node.id, node.kind, node.label, detail)
    for site, refs in buyers.items():
        boxes[f"buyers@{site}"] = _Box(
            f"buyers@{site}", "buyer", f"{len(refs)} buyer(s)", "pseudonymous refs"
        )
    return boxes, edges


def _layers(boxes: dict[str, _Box], edges: Edges) -> None:
    for box in boxes.values():
        box.layer = 0 if box.kind == "production" else 1
    # Longest path along the movements, bounded by the node count so that a cycle cannot loop forever.
    for _ in range(len(boxes)):
        changed = False
        for source, target in edges:
            wanted = boxes[source].layer + 1
            if boxes[target].layer < wanted and wanted <= len(boxes):
                boxes[target].layer = wanted
                changed = True
        if not changed:
            break
    rows: dict[int, int] = defaultdict(int)
    for box in sorted(boxes.values(), key=lambda b: (b.layer, b.kind != "site", b.label)):
        box.row = rows[box.layer]
        rows[box.layer] += 1


def trace_svg(trace: LotTrace) -> Markup:
    """The trace as an inline SVG (see the module doc)."""
    boxes, edges = _boxes(trace)
    _layers(boxes, edges)
    width = (max(b.layer for b in boxes.values()) + 1) * _COL_W + _PAD
    height = (max(b.row for b in boxes.values()) + 1) * _ROW_H + 2 * _PAD

    def x(box: _Box) -> int:
        return _PAD + box.layer * _COL_W

    def y(box: _Box) -> int:
        return _PAD + box.row * _ROW_H

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="lot trace" font-family="sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for (source_id, target_id), kinds in edges.items():
        source, target = boxes[source_id], boxes[target_id]
        x1, y1 = float(x(source) + _BOX_W), y(source) + _BOX_H / 2
        x2, y2 = float(x(target)), y(target) + _BOX_H / 2
        kind = next(iter(kinds))  # a shipment and its receipt share one arrow, coloured as the first
        colour = _EDGE_COLOURS.get(kind, "#555")
        if target.layer > source.layer:
            path = f"M {x1} {y1} C {x1 + 40} {y1}, {x2 - 40} {y2}, {x2} {y2}"
        else:  # a movement back to an earlier layer: arc below the boxes
            x1, x2 = x(source) + _BOX_W / 2, x(target) + _BOX_W / 2
            y1, y2 = y(source) + _BOX_H, y(target) + _BOX_H
            path = f"M {x1} {y1} C {x1} {y1 + 40}, {x2} {y2 + 40}, {x2} {y2}"
        middle_x, top_y = (x1 + x2) / 2, (y1 + y2) / 2 - 4 - 12 * (len(kinds) - 1)
        lines = "".join(
            f'<tspan x="{middle_x:.0f}" dy="{0 if index == 0 else 12}">'
            f"{escape(f'{name} {amount:g} ({int(count)})')}</tspan>"
            for index, (name, (amount, count)) in enumerate(kinds.items())
        )
        parts.append(
            f'<g class="edge {" ".join(kinds)}"><path d="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="1.6" marker-end="url(#arrow)"/><text x="{middle_x:.0f}" y="{top_y:.0f}" '
            f'text-anchor="middle" fill="{colour}" stroke="#fff" stroke-width="3" paint-order="stroke">'
            f"{lines}</text></g>"
        )
    for box in boxes.values():
        parts.append(
            f'<g class="node {box.kind}"><rect x="{x(box)}" y="{y(box)}" width="{_BOX_W}" height="{_BOX_H}" '
            f'rx="6" fill="{_COLOURS.get(box.kind, "#fff")}" stroke="#90a4ae"/>'
            f'<text x="{x(box) + 8}" y="{y(box) + 18}" font-weight="600">{escape(_short(box.label))}</text>'
            f'<text x="{x(box) + 8}" y="{y(box) + 34}" fill="#546e7a">{escape(_short(box.detail, 32))}</text>'
            f"<title>{escape(box.id)}</title></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # every text above is escaped
