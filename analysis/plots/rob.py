"""Risk-of-bias dots for forest plots (as robvis' "traffic lights"): a coloured circle per
domain with robvis' RoB 2 symbol (plus: low, minus: some concerns, cross: high), so that the
judgement does not rest on colour alone."""

from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.patches import Circle
from matplotlib.text import Text

from analysis.plots._style import INK, symbol_offset, text_width

# judgement: (fill colour, symbol, symbol colour, legend text)
JUDGEMENTS: dict[str, tuple[str, str, str, str]] = {
    "low": ("#2E9E44", "+", "#FFFFFF", "Low risk"),
    "some concerns": ("#F2C40C", "\u2212", "#000000", "Some concerns"),
    "high": ("#C8102E", "\u00d7", "#FFFFFF", "High risk"),
    "no information": ("#A6A6A6", "", "#000000", "No information"),
}

_ALIASES = {
    "low": "low",
    "low risk": "low",
    "low risk of bias": "low",
    "+": "low",
    "some concerns": "some concerns",
    "some": "some concerns",
    "moderate": "some concerns",
    "unclear": "some concerns",
    "unclear risk": "some concerns",
    "?": "some concerns",
    "high": "high",
    "high risk": "high",
    "high risk of bias": "high",
    "serious": "high",
    "critical": "high",
    "-": "some concerns",
    "\u2212": "some concerns",
    "x": "high",
    "\u00d7": "high",
    "no information": "no information",
    "ni": "no information",
    "not reported": "no information",
}


def normalise_judgement(value: str) -> str:
    """One of ``low``, ``some concerns``, ``high``, ``no information`` (RoB 2 names; ROBINS
    and RoB 1 wordings such as "unclear", "serious" are accepted)."""
    key = " ".join(str(value).strip().lower().split())
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(
            f"Unknown risk-of-bias judgement {value!r}; use low, some concerns, high or "
            "no information."
        ) from None


@dataclass
class RobLegend:
    """Draws the cells on the forest plot and the legend below it."""

    domains: list[str]
    descriptions: dict[str, str]
    size: float
    used: set[str] = field(default_factory=set)

    def _description_lines(self, avail: float) -> list[str]:
        if not self.descriptions:
            return []
        parts = [f"{d}: {self.descriptions[d]}" for d in self.domains if d in self.descriptions]
        lines, line = [], "Risk of bias domains: "
        first = True
        for part in parts:
            candidate = line + ("" if first else "; ") + part
            if not first and text_width(candidate, self.size) > avail:
                lines.append(line + ";")
                line = part
            else:
                line = candidate
            first = False
        lines.append(line)
        return lines

    def height(self, avail: float) -> float:
        return (len(self._description_lines(avail)) + 1) * self.size * 1.75

    def draw_cells(self, ax, transform, cells, diameter: float) -> None:
        """``cells``: (x in points, y in rows, judgement). Circles are drawn in points so they
        stay round; one group per judgement (``gid="rob-low"``, ...)."""
        by_judgement: dict[str, list] = {}
        for x, y, judgement in cells:
            by_judgement.setdefault(judgement, []).append((x, y))
        for judgement in JUDGEMENTS:
            pts = by_judgement.get(judgement)
            if not pts:
                continue
            self.used.add(judgement)
            fill, symbol, ink, _ = JUDGEMENTS[judgement]
            ax.scatter(
                [p[0] for p in pts],
                [p[1] for p in pts],
                s=diameter**2,
                marker="o",
                c=fill,
                edgecolors=INK,
                linewidths=0.4,
                transform=transform,
                zorder=4,
                clip_on=False,
                gid=f"rob-{judgement.replace(' ', '-')}",
            )
            shifted = transform + symbol_offset(ax.figure, self.size * 0.95)
            for x, y in pts:
                if symbol:
                    ax.text(
                        x,
                        y,
                        symbol,
                        transform=shifted,
                        fontsize=self.size * 0.95,
                        fontweight="bold",
                        color=ink,
                        ha="center",
                        va="baseline",
                        clip_on=False,
                        zorder=5,
                    )

    def draw(self, fig, points, x0: float, top: float, avail: float) -> None:
        """Legend lines from ``top`` (points above the figure's bottom) downwards: the
        symbols, then the domains' descriptions."""
        line_h = self.size * 1.75
        y = top - line_h / 2.0
        x = x0
        label = "Risk of bias:"
        fig.add_artist(
            Text(
                x,
                y,
                label,
                transform=points,
                fontsize=self.size,
                color=INK,
                fontweight="bold",
                ha="left",
                va="center_baseline",
            )
        )
        x += text_width(label, self.size, bold=True) + 8.0
        r = self.size * 0.62
        centre = y - self.size * 0.05  # va="center_baseline" text: y is ~0.38 em up
        shifted = points + symbol_offset(fig, self.size * 0.95)
        shown = [j for j in JUDGEMENTS if j != "no information" or j in self.used]
        for judgement in shown:
            fill, symbol, ink, text = JUDGEMENTS[judgement]
            fig.add_artist(
                Circle(
                    (x + r, centre),
                    r,
                    transform=points,
                    facecolor=fill,
                    edgecolor=INK,
                    linewidth=0.4,
                    gid=f"rob-legend-{judgement.replace(' ', '-')}",
                )
            )
            if symbol:
                fig.add_artist(
                    Text(
                        x + r,
                        centre,
                        symbol,
                        transform=shifted,
                        fontsize=self.size * 0.95,
                        fontweight="bold",
                        color=ink,
                        ha="center",
                        va="baseline",
                    )
                )
            x += 2 * r + 4.0
            fig.add_artist(
                Text(
                    x,
                    y,
                    text,
                    transform=points,
                    fontsize=self.size,
                    color=INK,
                    ha="left",
                    va="center_baseline",
                )
            )
            x += text_width(text, self.size) + 12.0
        for line in self._description_lines(avail):
            y -= line_h
            fig.add_artist(
                Text(
                    x0,
                    y,
                    line,
                    transform=points,
                    fontsize=self.size,
                    color=INK,
                    ha="left",
                    va="center_baseline",
                )
            )
