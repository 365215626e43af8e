"""One colour per method, the same in every figure of a report (static or interactive).

Colours follow the methods' natural order (``frame.values(frame.method)``),
so the same set of methods gets the same colours whatever the order of the
stored rows. Up to 10 methods use matplotlib's ``tab10``, up to 20 ``tab20``;
beyond that hues are spread by the golden ratio, which keeps neighbours apart.
"""

from __future__ import annotations

import colorsys

TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf")
TAB20 = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
         "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d",
         "#17becf", "#9edae5")
GOLDEN = 0.618033988749895


def _spread(i: int) -> str:
    hue = (i * GOLDEN) % 1.0
    lightness = (0.38, 0.52, 0.64)[i % 3]
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.65)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def colours(methods: list) -> dict[str, str]:
    """``{str(method): "#rrggbb"}`` for methods given in their display order (distinct colours)."""
    names = list(dict.fromkeys(str(m) for m in methods))
    if len(names) <= len(TAB10):
        palette = TAB10
    elif len(names) <= len(TAB20):
        palette = TAB20
    else:
        palette = tuple(_spread(i) for i in range(len(names)))
    return {name: palette[i] for i, name in enumerate(names)}
