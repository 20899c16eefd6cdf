"""Forest plots: one row per study, pooled diamonds, prediction intervals, heterogeneity,
subgroup blocks and risk-of-bias dots.

Values are given on the analysis scale (log RR, Fisher's z, ...); the :class:`Scale` decides how
they are shown (ratio measures: ``exp`` on a log axis with natural-scale tick labels).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Polygon, Rectangle
from matplotlib.path import Path
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from matplotlib.transforms import Affine2D, blended_transform_factory

from analysis.plots._scale import DEFAULT, axis_ticks, critical_value, resolve_scale
from analysis.plots._style import (
    BASE_SIZE,
    GREY,
    INK,
    MARGIN,
    SMALL_SIZE,
    draw_title,
    figure_size,
    format_ci,
    format_interval,
    format_percent,
    format_tick,
    new_figure,
    set_description,
    style,
    text_width,
)
from analysis.plots.rob import RobLegend, normalise_judgement

# Geometry, in points.
ROW = 1.6  # row height as a multiple of the font size
GAP = 12.0
INDENT = 10.0
ROB_CIRCLE = 10.5
ROB_MIN_COL = 15.0
MIN_SQUARE = 2.0  # side of the smallest square, so that no study disappears


# arrowheads with the tip at the marker's origin, so they end exactly at the axis limit
_ARROW_LEFT = MarkerStyle(
    Path(
        [(0.0, 0.0), (1.0, 0.42), (1.0, -0.42), (0.0, 0.0)],
        [Path.MOVETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY],
    )
)
_ARROW_RIGHT = MarkerStyle(
    Path(
        [(0.0, 0.0), (-1.0, 0.42), (-1.0, -0.42), (0.0, 0.0)],
        [Path.MOVETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY],
    )
)


@dataclass(frozen=True)
class ForestRow:
    """One study. ``yi`` on the analysis scale with either ``vi`` (the CI is
    ``yi ± z·sqrt(vi)`` at the plot's ``level``) or ``ci_lb``/``ci_ub`` (analysis scale).
    ``weight`` in percent (printed, and the square's area is proportional to it). ``group``
    puts the row in a subgroup block; ``rob`` maps a risk-of-bias domain to a judgement
    ("low", "some concerns", "high", "no information")."""

    label: str
    yi: float
    vi: float | None = None
    ci_lb: float | None = None
    ci_ub: float | None = None
    weight: float | None = None
    group: str | None = None
    rob: Mapping[str, str] | None = field(default=None, hash=False)

    def interval(self, crit: float) -> tuple[float, float]:
        if self.ci_lb is not None and self.ci_ub is not None:
            return float(self.ci_lb), float(self.ci_ub)
        if self.vi is None:
            raise ValueError(f"Study {self.label!r} needs 'vi' or 'ci_lb' and 'ci_ub'.")
        if not self.vi > 0:
            raise ValueError(f"Study {self.label!r} has a non-positive variance.")
        half = crit * math.sqrt(float(self.vi))
        return float(self.yi) - half, float(self.yi) + half


@dataclass(frozen=True)
class PooledEstimate:
    """A pooled estimate drawn as a diamond (analysis scale), with an optional prediction
    interval (drawn as an open bar in the row below) and a heterogeneity line; ``weight`` (%)
    is printed in the weight column (e.g. 100 overall, the group's share for a subgroup)."""

    label: str
    est: float
    ci_lb: float
    ci_ub: float
    pi_lb: float | None = None
    pi_ub: float | None = None
    heterogeneity_text: str | None = None
    weight: float | None = None


@dataclass
class _Item:
    kind: str  # heading, study, pooled, pi, text, gap
    height: float  # in rows
    label: str = ""
    y: float = 0.0
    row: ForestRow | None = None
    pooled: PooledEstimate | None = None
    indent: bool = False
    overall: bool = False
    index: int = -1  # study number, or diamond number
    tag: str = ""  # the SVG id of a text row


def forest_plot(
    rows: Sequence[ForestRow],
    pooled: PooledEstimate | Sequence[PooledEstimate] | None = None,
    *,
    subgroups: Mapping[str, PooledEstimate | None] | None = None,
    subgroup_test_text: str | None = None,
    measure: str = "GEN",
    log_scale: bool | None = None,
    transf: str | Callable | None = None,
    level: float = 95,
    digits: int = 2,
    weight_digits: int = 1,
    xlim: tuple[float, float] | None = None,
    refline=DEFAULT,
    xlabel: str | None = None,
    favours: tuple[str, str] | None = None,
    study_header: str = "Study",
    estimate_header: str | None = None,
    weight_header: str = "Weight",
    rob_domains: Sequence[str] | Mapping[str, str] | None = None,
    title: str | None = None,
    plot_width: float = 2.6,
    font_size: float = BASE_SIZE,
) -> Figure:
    """Draw a forest plot and return the :class:`~matplotlib.figure.Figure`.

    ``rows`` are the studies (in order; with ``group`` set they are shown in subgroup blocks,
    ordered as ``subgroups`` then by first appearance). ``pooled`` is the overall model (or
    several); ``subgroups`` maps a group to its pooled estimate. ``xlim`` is on the display
    scale (natural scale for ratios); intervals beyond it end in an arrow. ``refline`` is the
    line of no effect on the display scale (default 1 for ratios, 0 otherwise; None for none).
    ``favours`` = (left label, right label). ``rob_domains`` lists the risk-of-bias columns
    (short names, or a mapping short name -> description for the legend). ``plot_width`` is in
    inches; the figure's height grows with the number of rows.
    """
    with style():
        return _forest(**locals())


def _forest(
    rows,
    pooled,
    *,
    subgroups,
    subgroup_test_text,
    measure,
    log_scale,
    transf,
    level,
    digits,
    weight_digits,
    xlim,
    refline,
    xlabel,
    favours,
    study_header,
    estimate_header,
    weight_header,
    rob_domains,
    title,
    plot_width,
    font_size,
):
    rows = list(rows)
    if not rows:
        raise ValueError("A forest plot needs at least one study.")
    scale = resolve_scale(measure, log_scale=log_scale, transf=transf, refline=refline)
    pooled_list = (
        [] if pooled is None else ([pooled] if isinstance(pooled, PooledEstimate) else list(pooled))
    )
    subgroups = dict(subgroups or {})
    small = font_size * SMALL_SIZE / BASE_SIZE
    row_pt = font_size * ROW
    crit = critical_value(level)
    level_text = f"{level:g}" if level > 1 else f"{100 * level:g}"
    estimate_header = estimate_header or f"{scale.abbrev} [{level_text}% CI]"

    # ---------------------------------------------------------------- rows, top to bottom
    grouped = any(r.group is not None for r in rows)
    if grouped and any(r.group is None for r in rows):
        raise ValueError("Either every study has a group or none has.")
    items: list[_Item] = []
    n_diamond = 0

    def add_pooled(p: PooledEstimate, *, indent: bool, overall: bool) -> None:
        nonlocal n_diamond
        n_diamond += 1
        items.append(
            _Item(
                "pooled", 1.15, p.label, pooled=p, indent=indent, overall=overall, index=n_diamond
            )
        )
        if p.pi_lb is not None and p.pi_ub is not None:
            items.append(
                _Item("pi", 1.0, "Prediction interval", pooled=p, indent=indent, index=n_diamond)
            )
        if p.heterogeneity_text:
            items.append(
                _Item(
                    "text",
                    1.0,
                    p.heterogeneity_text,
                    indent=indent,
                    tag=f"heterogeneity-{n_diamond}",
                )
            )

    study_index = 0
    if grouped:
        order = [g for g in subgroups if any(r.group == g for r in rows)]
        order += [g for g in dict.fromkeys(r.group for r in rows) if g not in order]
        for n_group, g in enumerate(order, start=1):
            items.append(_Item("heading", 1.1, str(g), tag=f"heading-{n_group}"))
            for r in rows:
                if r.group == g:
                    items.append(
                        _Item("study", 1.0, r.label, row=r, indent=True, index=study_index)
                    )
                    study_index += 1
            if subgroups.get(g) is not None:
                add_pooled(subgroups[g], indent=True, overall=False)
            items.append(_Item("gap", 0.6))
    else:
        for r in rows:
            items.append(_Item("study", 1.0, r.label, row=r, index=study_index))
            study_index += 1
        if pooled_list:
            items.append(_Item("gap", 0.35))
    for p in pooled_list:
        add_pooled(p, indent=False, overall=True)
    if subgroup_test_text:
        items.append(_Item("text", 1.0, subgroup_test_text, tag="subgroup-test"))
    while items and items[-1].kind == "gap":
        items.pop()

    header_h = 1.25
    y = header_h + 0.25
    for it in items:
        it.y = y + it.height / 2.0
        y += it.height
    total_rows = y + 0.15

    # ---------------------------------------------------------------- numbers and texts
    study_items = [it for it in items if it.kind == "study"]
    ci = {it.index: it.row.interval(crit) for it in study_items}
    disp_est = {it.index: scale.show(it.row.yi) for it in study_items}
    disp_ci = {i: scale.show_interval(*ci[i]) for i in ci}
    est_texts: dict[int, str] = {}
    for it in items:
        if it.kind == "study":
            lb, ub = disp_ci[it.index]
            est_texts[id(it)] = format_ci(disp_est[it.index], lb, ub, digits)
        elif it.kind == "pooled":
            p = it.pooled
            lb, ub = scale.show_interval(p.ci_lb, p.ci_ub)
            est_texts[id(it)] = format_ci(scale.show(p.est), lb, ub, digits)
        elif it.kind == "pi":
            lb, ub = scale.show_interval(it.pooled.pi_lb, it.pooled.pi_ub)
            est_texts[id(it)] = f"[{format_interval(lb, ub, digits)}]"
    weights = {it.index: it.row.weight for it in study_items}
    has_weights = any(w is not None for w in weights.values()) or any(
        p.weight is not None for p in [*pooled_list, *subgroups.values()] if p is not None
    )
    wt_texts: dict[int, str] = {}
    for it in items:
        w = (
            it.row.weight
            if it.kind == "study"
            else (it.pooled.weight if it.kind == "pooled" else None)
        )
        if w is not None:
            wt_texts[id(it)] = format_percent(w, weight_digits)

    # risk of bias
    domains, descriptions = _rob_domains(rows, rob_domains)

    # ---------------------------------------------------------------- column widths (points)
    def label_w(it: _Item) -> float:
        bold = it.kind in ("heading", "pooled")
        return (INDENT if it.indent else 0.0) + text_width(it.label, font_size, bold=bold)

    w_label = max(
        [text_width(study_header, font_size, bold=True)]
        + [label_w(it) for it in items if it.kind in ("heading", "study", "pooled", "pi")]
    )
    rob_cols = [max(ROB_MIN_COL, text_width(d, small, bold=True) + 4.0) for d in domains]
    w_rob = sum(rob_cols) + (GAP if domains else 0.0)
    w_est = max(
        [text_width(estimate_header, font_size, bold=True)]
        + [text_width(t, font_size, bold=True) for t in est_texts.values()]
    )
    w_wt = (
        max(
            [text_width(weight_header, font_size, bold=True)]
            + [text_width(t, font_size, bold=True) for t in wt_texts.values()]
        )
        if has_weights
        else 0.0
    )
    w_plot = plot_width * 72.0
    span_texts = [it.label for it in items if it.kind == "text"]
    w_span = max([text_width(t, small) for t in span_texts] or [0.0])
    right = GAP + w_est + ((GAP + w_wt) if has_weights else 0.0)
    # a heterogeneity line may run under the columns, but must fit in the figure
    w_plot = max(w_plot, w_span - (w_label + GAP + w_rob + right) + 4.0)

    x_label = MARGIN
    x_rob = x_label + w_label + GAP
    x_plot = x_rob + w_rob
    x_est_right = x_plot + w_plot + GAP + w_est
    x_wt_right = x_est_right + GAP + w_wt
    width = (x_wt_right if has_weights else x_est_right) + MARGIN

    # ---------------------------------------------------------------- heights (points)
    title_h = (font_size * 2.2) if title else 0.0
    top = MARGIN + title_h
    rows_h = total_rows * row_pt
    tick_h = 3.5 + 2.5 + small * 1.25
    below = tick_h + (small * 1.6 if favours else 0.0) + font_size * 1.7
    legend = RobLegend(domains, descriptions, small) if domains else None
    avail = width - 2 * MARGIN
    legend_h = legend.height(avail) + 6.0 if legend else 0.0
    bottom = below + legend_h + MARGIN
    width, height = figure_size(width, top + rows_h + bottom)
    fig = new_figure(width, height)
    ax = fig.add_axes((x_plot / width, bottom / height, w_plot / width, rows_h / height))
    points = Affine2D().scale(1.0 / 72.0) + fig.dpi_scale_trans  # figure points -> display
    row_tf = blended_transform_factory(points, ax.transData)  # x in points, y in rows

    # ---------------------------------------------------------------- axis
    values = []
    for i in ci:
        values += [*disp_ci[i], disp_est[i]]
    for p in [*pooled_list, *(s for s in subgroups.values() if s is not None)]:
        values += list(scale.show_interval(p.ci_lb, p.ci_ub))
        if p.pi_lb is not None and p.pi_ub is not None:
            values += list(scale.show_interval(p.pi_lb, p.pi_ub))
    if scale.refline is not None:
        values.append(scale.refline)
    ticks, (xmin, xmax) = axis_ticks(scale, values, xlim)
    if scale.log:
        ax.set_xscale("log")
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(total_rows, 0.0)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([format_tick(t) for t in ticks]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())
    ax.tick_params(
        axis="x", labelsize=small, length=3.5, width=0.8, pad=2.5, color=INK, labelcolor=INK
    )
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_bounds(ticks[0], ticks[-1])
    ax.patch.set_visible(False)

    def frac(v: float) -> float:
        """Display value -> position within the plot area (0..1)."""
        a, b, c = scale.to_axis(xmin), scale.to_axis(xmax), scale.to_axis(v)
        return float((c - a) / (b - a))

    # ---------------------------------------------------------------- header
    head_y = header_h / 2.0 + 0.1
    _text(ax, row_tf, x_label, head_y, study_header, font_size, bold=True)
    _text(ax, row_tf, x_est_right, head_y, estimate_header, font_size, bold=True, ha="right")
    if has_weights:
        _text(ax, row_tf, x_wt_right, head_y, weight_header, font_size, bold=True, ha="right")
    rob_x = []
    x = x_rob
    for d, wcol in zip(domains, rob_cols, strict=True):
        rob_x.append(x + wcol / 2.0)
        _text(ax, row_tf, x + wcol / 2.0, head_y, d, small, bold=True, ha="center")
        x += wcol
    rule_y = header_h
    ax.add_line(
        Line2D(
            [MARGIN, width - MARGIN],
            [rule_y, rule_y],
            transform=row_tf,
            color=INK,
            linewidth=0.6,
            clip_on=False,
            gid="header-rule",
        )
    )

    # ---------------------------------------------------------------- reference line
    if scale.refline is not None and xmin <= scale.refline <= xmax:
        ref_pt = x_plot + frac(scale.refline) * w_plot
        segments = _refline_segments(items, ref_pt, x_label, small, rule_y)
        if segments:
            ax.add_collection(
                LineCollection(
                    [[(scale.refline, a), (scale.refline, b)] for a, b in segments],
                    colors=GREY,
                    linewidths=0.8,
                    zorder=1,
                    gid="refline",
                )
            )

    # ---------------------------------------------------------------- studies
    sq_max = 0.72 * row_pt
    wmax = max([w for w in weights.values() if w is not None] or [0.0])
    if wmax <= 0:  # no weights: inverse variance, or equal sizes
        inv = {
            i: (1.0 / it.row.vi if it.row.vi else 1.0)
            for i, it in ((it.index, it) for it in study_items)
        }
        imax = max(inv.values())
        rel = {i: inv[i] / imax for i in inv}
    else:
        rel = {i: (weights[i] or 0.0) / wmax for i in weights}
    sq_x, sq_y, sq_s = [], [], []
    segs, arrows_left, arrows_right = [], [], []
    for it in study_items:
        i = it.index
        lb, ub = disp_ci[i]
        est = disp_est[i]
        a, b = max(lb, xmin), min(ub, xmax)
        if a < b:
            segs.append([(a, it.y), (b, it.y)])
        if lb < xmin:
            arrows_left.append((xmin, it.y))
        if ub > xmax:
            arrows_right.append((xmax, it.y))
        if xmin <= est <= xmax:
            side = max(MIN_SQUARE, sq_max * math.sqrt(rel[i]))
            sq_x.append(est)
            sq_y.append(it.y)
            sq_s.append(side * side)
    ax.add_collection(LineCollection(segs, colors=INK, linewidths=0.9, zorder=2, gid="study-cis"))
    ax.scatter(
        sq_x,
        sq_y,
        s=sq_s,
        marker="s",
        c=INK,
        linewidths=0,
        zorder=3,
        clip_on=False,
        gid="study-squares",
    )
    arrow_s = (0.8 * row_pt) ** 2
    for pts, marker, gid in (
        (arrows_left, _ARROW_LEFT, "ci-arrows-left"),
        (arrows_right, _ARROW_RIGHT, "ci-arrows-right"),
    ):
        if pts:
            ax.scatter(
                [p[0] for p in pts],
                [p[1] for p in pts],
                s=arrow_s,
                marker=marker,
                c=INK,
                linewidths=0,
                zorder=3,
                clip_on=False,
                gid=gid,
            )

    # ---------------------------------------------------------------- pooled rows
    for it in items:
        if it.kind != "pooled":
            continue
        p = it.pooled
        lb, ub = scale.show_interval(p.ci_lb, p.ci_ub)
        est = scale.show(p.est)
        h = 0.36
        name = f"diamond-overall-{it.index}" if it.overall else f"diamond-subgroup-{it.index}"
        ax.add_patch(
            Polygon(
                [(lb, it.y), (est, it.y - h), (ub, it.y), (est, it.y + h)],
                closed=True,
                facecolor=INK if it.overall else GREY,
                edgecolor=INK,
                linewidth=0.8,
                zorder=3,
                gid=name,
            )
        )
    for it in items:
        if it.kind != "pi":
            continue
        lb, ub = scale.show_interval(it.pooled.pi_lb, it.pooled.pi_ub)
        a, b = max(lb, xmin), min(ub, xmax)
        ax.add_patch(
            Rectangle(
                (a, it.y - 0.16),
                b - a,
                0.32,
                facecolor="none",
                edgecolor=INK,
                linewidth=0.8,
                zorder=3,
                clip_on=False,
                gid=f"prediction-interval-{it.index}",
            )
        )

    # ---------------------------------------------------------------- texts
    for it in items:
        x0 = x_label + (INDENT if it.indent else 0.0)
        if it.kind == "heading":
            _text(ax, row_tf, x_label, it.y, it.label, font_size, bold=True, gid=it.tag)
        elif it.kind == "study":
            _text(ax, row_tf, x0, it.y, it.label, font_size, gid=f"label-study-{it.index}")
        elif it.kind in ("pooled", "pi"):
            _text(
                ax,
                row_tf,
                x0,
                it.y,
                it.label,
                font_size,
                bold=it.kind == "pooled",
                gid=f"label-{it.kind}-{it.index}",
            )
        elif it.kind == "text":
            _text(ax, row_tf, x0, it.y, it.label, small, gid=it.tag or None)
        bold = it.kind == "pooled"
        if id(it) in est_texts:
            tag = f"estimate-{'pooled' if it.kind == 'pooled' else it.kind}-{it.index}"
            _text(
                ax,
                row_tf,
                x_est_right,
                it.y,
                est_texts[id(it)],
                font_size,
                bold=bold,
                ha="right",
                gid=tag,
            )
        if id(it) in wt_texts:
            tag = f"weight-study-{it.index}" if it.kind == "study" else f"weight-pooled-{it.index}"
            _text(
                ax,
                row_tf,
                x_wt_right,
                it.y,
                wt_texts[id(it)],
                font_size,
                bold=bold,
                ha="right",
                gid=tag,
            )

    # ---------------------------------------------------------------- risk of bias
    if domains:
        cells = {}
        for it in study_items:
            judged = it.row.rob or {}
            for d, cx in zip(domains, rob_x, strict=True):
                if judged.get(d) is not None:
                    cells[(it.index, d)] = (cx, it.y, normalise_judgement(judged[d]))
        legend.draw_cells(ax, row_tf, cells.values(), ROB_CIRCLE)

    # ---------------------------------------------------------------- below the axis
    below_axis = -tick_h
    if favours and scale.refline is not None and xmin <= scale.refline <= xmax:
        off = below_axis - 2.0
        for txt, sign, ha in ((f"← {favours[0]}", -1, "right"), (f"{favours[1]} →", 1, "left")):
            ax.annotate(
                txt,
                xy=(scale.refline, 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(sign * 5.0, off),
                textcoords="offset points",
                ha=ha,
                va="top",
                fontsize=small,
                color=INK,
                annotation_clip=False,
            )
        below_axis -= small * 1.6
    ax.annotate(
        xlabel if xlabel is not None else scale.axis_label,
        xy=(0.5, 0.0),
        xycoords="axes fraction",
        xytext=(0.0, below_axis - 3.0),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize=font_size,
        color=INK,
        annotation_clip=False,
        gid="xlabel",
    )
    if legend:
        legend.draw(fig, points, MARGIN, bottom - below - 4.0, avail)
    draw_title(fig, title, width, height, font_size)

    n = len(study_items)
    overall = next((it.pooled for it in items if it.kind == "pooled" and it.overall), None)
    desc = f"Forest plot of {n} {'study' if n == 1 else 'studies'}"
    if overall is not None:
        lb, ub = scale.show_interval(overall.ci_lb, overall.ci_ub)
        shown = format_ci(scale.show(overall.est), lb, ub, digits)
        desc += f"; {overall.label}: {scale.abbrev} {shown}"
    set_description(fig, title or "Forest plot", desc + ".")
    return fig


def _text(ax, transform, x, y, s, size, *, bold=False, ha="left", gid=None):
    return ax.text(
        x,
        y,
        s,
        transform=transform,
        fontsize=size,
        fontweight="bold" if bold else "normal",
        ha=ha,
        va="center_baseline",
        color=INK,
        clip_on=False,
        gid=gid,
    )


def _refline_segments(items, ref_pt, x_label, small, top):
    """Vertical extents of the line of no effect: from the header rule down to the last
    drawn row, interrupted where a heterogeneity/test line would run through it."""
    drawn = [it for it in items if it.kind in ("study", "pooled", "pi")]
    if not drawn:
        return []
    end = max(it.y + it.height / 2.0 for it in drawn)
    segments, start = [], top
    for it in items:
        if it.kind != "text" or it.y > end:
            continue
        x0 = x_label + (INDENT if it.indent else 0.0)
        if x0 + text_width(it.label, small) + 3.0 >= ref_pt:
            a, b = it.y - it.height / 2.0, it.y + it.height / 2.0
            if a > start:
                segments.append((start, a))
            start = b
    if end > start:
        segments.append((start, end))
    return segments


def _rob_domains(rows, rob_domains):
    if rob_domains is None:
        seen = dict.fromkeys(d for r in rows if r.rob for d in r.rob)
        return list(seen), {}
    if isinstance(rob_domains, Mapping):
        return list(rob_domains), {k: v for k, v in rob_domains.items() if v}
    return list(rob_domains), {}


# --------------------------------------------------------------------------- from a fit


def forest_from_fit(
    labels: Sequence[str],
    yi,
    vi,
    fit,
    *,
    measure: str | None = None,
    level: float | None = None,
    groups: Sequence | None = None,
    rob=None,
    rob_domains: Sequence[str] | Mapping[str, str] | None = None,
    transf: str | Callable | None = None,
    log_scale: bool | None = None,
    digits: int = 2,
    prediction: bool = True,
    heterogeneity: bool = True,
    subgroup_test: str = "mixed",
    **kwargs,
) -> Figure:
    """A forest plot of an intercept-only engine fit (``analysis.engine.rma``).

    Study weights are ``fit.weights`` (metafor's ``weights()``, percent). The pooled diamond,
    its CI and the prediction interval come from ``predict(fit, level=level)``; the
    heterogeneity line from the fit. With ``groups`` (one label per study) each subgroup is
    refitted with the fit's method, test and control (``analysis.engine.subgroup``) and gets
    its own diamond, prediction interval and heterogeneity line; the test for subgroup
    differences is ``subgroup(...).mixed``'s ``Q_M`` (``subgroup_test="separate"``: Q between
    separate fits). ``rob`` is either a list (one mapping domain -> judgement per study) or a
    mapping domain -> list of judgements. ``yi``/``vi`` may be None (then the fit's).
    Other keyword arguments go to :func:`forest_plot`.
    """
    from analysis.engine import MetaAnalysisError, predict, rma, subgroup
    from analysis.plots.text import (
        heterogeneity_text,
        model_label,
        moderator_test_text,
        subgroup_test_text,
    )

    if not getattr(fit, "int_only", False):
        raise ValueError("forest_from_fit() needs a model without moderators.")
    yi = np.asarray(fit.yi if yi is None else yi, dtype=float)
    vi = np.asarray(fit.vi if vi is None else vi, dtype=float)
    labels = [str(s) for s in labels]
    k = fit.k
    if not (len(labels) == yi.shape[0] == vi.shape[0] == k):
        raise ValueError(f"labels, yi and vi must have one entry per study of the fit ({k}).")
    if not (
        np.allclose(yi, fit.yi, rtol=1e-12, atol=0) and np.allclose(vi, fit.vi, rtol=1e-12, atol=0)
    ):
        raise ValueError("yi and vi are not the data the model was fitted to.")
    measure = measure or fit.measure
    level = fit.level if level is None else level
    rob_rows = _rob_per_study(rob, k)
    weights = np.asarray(fit.weights, dtype=float)
    group_labels = None if groups is None else [str(g) for g in groups]
    if group_labels is not None and len(group_labels) != k:
        raise ValueError(f"groups has {len(group_labels)} labels for {k} studies.")

    def pooled_of(f, label=None, weight=None):
        pred = predict(f, level=level)
        with_pi = prediction and pred.pi_lb is not None
        return PooledEstimate(
            label=label or model_label(f),
            est=float(pred.pred),
            ci_lb=float(pred.ci_lb),
            ci_ub=float(pred.ci_ub),
            pi_lb=float(pred.pi_lb) if with_pi else None,
            pi_ub=float(pred.pi_ub) if with_pi else None,
            heterogeneity_text=heterogeneity_text(f, digits) if heterogeneity else None,
            weight=weight,
        )

    rows = [
        ForestRow(
            label=labels[i],
            yi=float(yi[i]),
            vi=float(vi[i]),
            weight=float(weights[i]),
            group=None if group_labels is None else group_labels[i],
            rob=rob_rows[i],
        )
        for i in range(k)
    ]
    subgroups = None
    test_text = None
    overall_label = model_label(fit)
    if group_labels is not None:
        overall_label = "Overall: " + overall_label[0].lower() + overall_label[1:]
        try:
            sg = subgroup(fit, group_labels)
        except MetaAnalysisError:
            sg = None  # a one-study group under a random-effects model
        levels = sorted(set(group_labels)) if sg is None else list(sg.levels)
        control = {key: v for key, v in fit.control.items() if not key.startswith("_")}
        subgroups = {}
        for g in levels:
            mask = np.array([lab == g for lab in group_labels])
            share = float(weights[mask].sum())
            if sg is not None:
                subgroups[g] = pooled_of(sg.separate[g], weight=share)
            elif mask.sum() >= 2 or fit.method in ("FE", "EE"):
                subgroups[g] = pooled_of(
                    rma(
                        yi[mask],
                        vi[mask],
                        method=fit.method,
                        test=fit.test,
                        level=fit.level,
                        control=control,
                    ),
                    weight=share,
                )
            else:
                subgroups[g] = None  # a heading, the study, no diamond
        if sg is not None:
            test_text = subgroup_test_text(sg, digits, kind=subgroup_test)
        elif subgroup_test == "mixed" and len(levels) > 1:
            dummies = np.array(
                [[lab == g for g in levels[1:]] for lab in group_labels], dtype=float
            )
            mixed = rma(
                yi,
                vi,
                mods=dummies,
                method=fit.method,
                test=fit.test,
                level=fit.level,
                control=control,
            )
            test_text = "Test for subgroup differences: " + moderator_test_text(mixed, digits)
    overall = pooled_of(fit, overall_label, 100.0)
    return forest_plot(
        rows,
        overall,
        measure=measure,
        subgroups=subgroups,
        subgroup_test_text=test_text,
        level=level,
        digits=digits,
        transf=transf,
        log_scale=log_scale,
        rob_domains=rob_domains,
        **kwargs,
    )


def _rob_per_study(rob, k):
    if rob is None:
        return [None] * k
    if isinstance(rob, Mapping):
        out = [{} for _ in range(k)]
        for domain, judgements in rob.items():
            judgements = list(judgements)
            if len(judgements) != k:
                raise ValueError(
                    f"Risk of bias '{domain}' has {len(judgements)} judgements for {k} studies."
                )
            for i, j in enumerate(judgements):
                if j is not None:
                    out[i][domain] = j
        return out
    rob = list(rob)
    if len(rob) != k:
        raise ValueError(f"rob has {len(rob)} entries for {k} studies.")
    return [None if r is None else dict(r) for r in rob]
