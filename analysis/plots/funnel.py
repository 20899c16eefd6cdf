"""Funnel plots (metafor's ``funnel()``): effect against standard error, 0 at the top, with the
pseudo confidence region around the model estimate, Egger's test and trim and fill."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from matplotlib.transforms import Affine2D

from analysis.plots._scale import (
    axis_ticks,
    critical_value,
    linear_ticks,
    padded_limits,
    resolve_scale,
    ticks_within,
)
from analysis.plots._style import (
    BASE_SIZE,
    GREY,
    INK,
    LIGHT,
    MARGIN,
    SMALL_SIZE,
    draw_notes,
    draw_title,
    figure_size,
    format_ci,
    format_number,
    format_tick,
    new_figure,
    set_description,
    style,
    text_width,
    wrap_text,
)

MARKER = 5.5  # points (diameter)


def funnel_plot(
    yi,
    vi,
    *,
    estimate: float,
    measure: str = "GEN",
    log_scale: bool | None = None,
    level: float = 95,
    filled_yi: Sequence[float] = (),
    filled_vi: Sequence[float] = (),
    filled_estimate: float | None = None,
    notes: Sequence[str] = (),
    xlabel: str | None = None,
    ylabel: str = "Standard Error",
    xlim: tuple[float, float] | None = None,
    title: str | None = None,
    width: float = 5.0,
    plot_height: float = 3.4,
    font_size: float = BASE_SIZE,
    legend: bool = True,
) -> Figure:
    """Funnel plot: ``yi`` (analysis scale) against ``sqrt(vi)`` with the standard error axis
    inverted (0 at the top), the pseudo ``level``% confidence region ``estimate ± z·se``, a
    vertical line at ``estimate``; studies imputed by trim and fill (``filled_yi``,
    ``filled_vi``) as hollow circles with a dashed line at ``filled_estimate``. ``notes`` are
    printed under the plot (e.g. Egger's test). Ratio measures are shown on a log axis with
    natural-scale tick labels. ``width`` and ``plot_height`` are in inches.
    """
    with style():
        return _funnel(**locals())


def _funnel(
    yi,
    vi,
    *,
    estimate,
    measure,
    log_scale,
    level,
    filled_yi,
    filled_vi,
    filled_estimate,
    notes,
    xlabel,
    ylabel,
    xlim,
    title,
    width,
    plot_height,
    font_size,
    legend,
):
    scale = resolve_scale(measure, log_scale=log_scale, refline=None)
    yi = np.asarray(yi, dtype=float)
    sei = np.sqrt(np.asarray(vi, dtype=float))
    fy = np.asarray(filled_yi, dtype=float).reshape(-1)
    fse = np.sqrt(np.asarray(filled_vi, dtype=float).reshape(-1))
    if yi.shape != sei.shape or fy.shape != fse.shape:
        raise ValueError("yi and vi (and filled_yi and filled_vi) must have the same length.")
    if yi.size == 0:
        raise ValueError("A funnel plot needs at least one study.")
    small = font_size * SMALL_SIZE / BASE_SIZE
    crit = critical_value(level)
    level_text = f"{level:g}" if level > 1 else f"{100 * level:g}"

    # standard error axis: 0 at the top, nice ticks down to the largest se
    se_max = float(max(sei.max(), fse.max() if fse.size else 0.0))
    se_ticks = [t for t in linear_ticks(0.0, se_max, nbins=5, steps=(1, 2, 5, 10)) if t >= 0]
    se_bottom = se_ticks[-1]

    # x: the triangle's base and every study
    tri_lo, tri_hi = estimate - crit * se_bottom, estimate + crit * se_bottom
    shown = [*scale.show(yi), *scale.show(fy)] if fy.size else list(scale.show(yi))
    shown += [scale.show(tri_lo), scale.show(tri_hi)]
    lo, hi = padded_limits(scale, shown, 0.04) if xlim is None else map(float, xlim)
    ticks = ticks_within(scale, lo, hi) if xlim is None else axis_ticks(scale, [], xlim)[0]

    # ---------------------------------------------------------------- layout (points)
    left, right = 50.0, 14.0
    title_h = font_size * 2.2 if title else 0.0
    top = MARGIN + title_h
    plot_w = width * 72.0 - left - right
    plot_h = plot_height * 72.0
    axis_h = 3.5 + 2.5 + small * 1.25 + font_size * 1.9
    entries = (
        _legend_entries(fy.size > 0, filled_estimate is not None, level_text) if legend else []
    )
    handle_w = 22.0
    widths = [handle_w + text_width(t, small) + 16.0 for _, t in entries]
    ncol = 2 if max(widths[0::2] or [0.0]) + max(widths[1::2] or [0.0]) <= plot_w else 1
    col_x = [0.0, max(widths[0::2] or [0.0])]
    legend_rows = math.ceil(len(entries) / ncol)
    legend_h = legend_rows * small * 1.7 + (6.0 if entries else 0.0)
    note_lines = [line for n in notes if n for line in wrap_text(n, plot_w, small)]
    notes_h = len(note_lines) * small * 1.7 + (4.0 if note_lines else 0.0)
    bottom = axis_h + legend_h + notes_h + MARGIN
    width_pt, height_pt = figure_size(width * 72.0, top + plot_h + bottom)
    fig = new_figure(width_pt, height_pt)
    ax = fig.add_axes((left / width_pt, bottom / height_pt, plot_w / width_pt, plot_h / height_pt))
    points = Affine2D().scale(1.0 / 72.0) + fig.dpi_scale_trans
    if scale.log:
        ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(se_bottom, 0.0)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([format_tick(t) for t in ticks]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(FixedLocator(se_ticks))
    ax.yaxis.set_major_formatter(FixedFormatter([format_tick(t) for t in se_ticks]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.tick_params(labelsize=small, length=3.5, width=0.8, pad=2.5, color=INK, labelcolor=INK)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(
        xlabel if xlabel is not None else scale.axis_label, fontsize=font_size, labelpad=4.0
    )
    ax.set_ylabel(ylabel, fontsize=font_size, labelpad=6.0)

    # pseudo confidence region (straight on a log axis too: log x is linear in se)
    grid = [0.0, se_bottom]
    region = [
        (scale.show(tri_lo), se_bottom),
        (scale.show(estimate), 0.0),
        (scale.show(tri_hi), se_bottom),
    ]
    ax.add_patch(
        Polygon(
            region, closed=True, facecolor=LIGHT, edgecolor="none", zorder=0, gid="funnel-region"
        )
    )
    for sign in (-1, 1):
        xs = [scale.show(estimate + sign * crit * s) for s in grid]
        ax.add_line(
            Line2D(
                xs,
                grid,
                color=GREY,
                linewidth=0.8,
                linestyle=(0, (4, 2.5)),
                zorder=1,
                gid=f"funnel-limit-{'lower' if sign < 0 else 'upper'}",
            )
        )
    ax.add_line(
        Line2D(
            [scale.show(estimate)] * 2,
            [0.0, se_bottom],
            color=INK,
            linewidth=0.9,
            zorder=2,
            gid="funnel-estimate",
        )
    )
    if filled_estimate is not None:
        ax.add_line(
            Line2D(
                [scale.show(filled_estimate)] * 2,
                [0.0, se_bottom],
                color=INK,
                linewidth=0.9,
                linestyle=(0, (1.5, 1.5)),
                zorder=2,
                gid="funnel-trimfill-estimate",
            )
        )
    ax.scatter(
        scale.show(yi),
        sei,
        s=MARKER**2,
        marker="o",
        c=INK,
        edgecolors=INK,
        linewidths=0.6,
        zorder=4,
        clip_on=False,
        gid="funnel-observed",
    )
    if fy.size:
        ax.scatter(
            scale.show(fy),
            fse,
            s=MARKER**2,
            marker="o",
            facecolors="white",
            edgecolors=INK,
            linewidths=0.9,
            zorder=4,
            clip_on=False,
            gid="funnel-filled",
        )

    # ---------------------------------------------------------------- legend and notes
    y = bottom - axis_h - small * 0.85
    for n, (handle, text) in enumerate(entries):
        cx = left + col_x[n % ncol]
        cy = y - (n // ncol) * small * 1.7
        _legend_handle(fig, points, handle, cx, cy, small)
        fig.text(
            cx + handle_w,
            cy,
            text,
            transform=points,
            fontsize=small,
            ha="left",
            va="center_baseline",
            color=INK,
        )
    if entries:
        y -= legend_rows * small * 1.7 + 6.0
    y = draw_notes(fig, note_lines, left, y, points, small, "funnel-note")
    draw_title(fig, title, width_pt, height_pt, font_size)
    desc = (
        f"Funnel plot of {yi.size} studies around the estimate "
        f"{format_number(scale.show(estimate), 2)}"
    )
    if fy.size:
        desc += f", with {fy.size} studies imputed by trim and fill"
    set_description(fig, title or "Funnel plot", desc + ".")
    return fig


def _legend_entries(has_filled: bool, has_filled_estimate: bool, level_text: str):
    entries = [("observed", "Observed studies"), ("estimate", "Pooled estimate")]
    if has_filled:
        entries.append(("filled", "Filled-in studies (trim and fill)"))
    if has_filled_estimate:
        entries.append(("filled_estimate", "Adjusted estimate (trim and fill)"))
    entries.append(("limits", f"Pseudo {level_text}% confidence limits"))
    return entries


def _legend_handle(fig, points, kind, x, y, size):
    """A small symbol at (x, y) points, 16 points wide."""
    mid = y - size * 0.05  # the middle of va="center_baseline" text at y
    if kind in ("observed", "filled"):
        face = INK if kind == "observed" else "white"
        fig.add_artist(
            Line2D(
                [x + 8.0],
                [mid],
                transform=points,
                marker="o",
                markersize=MARKER,
                markerfacecolor=face,
                markeredgecolor=INK,
                markeredgewidth=0.6 if kind == "observed" else 0.9,
                linestyle="none",
            )
        )
        return
    style_ = {
        "estimate": ("-", INK),
        "filled_estimate": ((0, (1.5, 1.5)), INK),
        "limits": ((0, (4, 2.5)), GREY),
    }[kind]
    fig.add_artist(
        Line2D(
            [x, x + 16.0],
            [mid, mid],
            transform=points,
            linestyle=style_[0],
            color=style_[1],
            linewidth=0.9,
        )
    )


# --------------------------------------------------------------------------- from a fit


def funnel_from_fit(
    yi,
    vi,
    fit,
    *,
    measure: str | None = None,
    trimfill: bool = True,
    egger: bool = True,
    side: str | None = None,
    estimator: str = "L0",
    digits: int = 2,
    level: float | None = None,
    **kwargs,
) -> Figure:
    """A funnel plot of an intercept-only engine fit: centred at ``fit.b`` with Egger's test
    (``regtest(fit)``) and, with ``trimfill=True``, the studies imputed by
    ``trimfill(fit, side=side, estimator=estimator)`` as hollow circles and the adjusted
    estimate as a dashed line. ``yi``/``vi`` may be None (then the fit's). Other keyword
    arguments go to :func:`funnel_plot`."""
    from analysis.engine import MetaAnalysisError, regtest
    from analysis.engine import trimfill as engine_trimfill
    from analysis.plots.text import egger_text

    if not getattr(fit, "int_only", False):
        raise ValueError("funnel_from_fit() needs a model without moderators.")
    yi = np.asarray(fit.yi if yi is None else yi, dtype=float)
    vi = np.asarray(fit.vi if vi is None else vi, dtype=float)
    if yi.shape[0] != fit.k or not (
        np.allclose(yi, fit.yi, rtol=1e-12, atol=0) and np.allclose(vi, fit.vi, rtol=1e-12, atol=0)
    ):
        raise ValueError("yi and vi are not the data the model was fitted to.")
    measure = measure or fit.measure
    scale = resolve_scale(measure, log_scale=kwargs.get("log_scale"))
    notes = list(kwargs.pop("notes", ()))
    if egger:
        try:
            notes.append(egger_text(regtest(fit), digits))
        except MetaAnalysisError as exc:
            notes.append(f"Egger's regression test not available: {exc}")
    filled_yi: np.ndarray = np.zeros(0)
    filled_vi: np.ndarray = np.zeros(0)
    filled_estimate = None
    if trimfill:
        try:
            tf = engine_trimfill(fit, side=side, estimator=estimator)
        except MetaAnalysisError as exc:
            notes.append(f"Trim and fill not available: {exc}")
        else:
            if tf.k0 > 0:
                filled_yi, filled_vi = tf.filled_yi, tf.filled_vi
                filled_estimate = float(tf.fit.b)
                adj = tf.fit
                lb, ub = scale.show_interval(adj.ci_lb, adj.ci_ub)
                studies = "study" if tf.k0 == 1 else "studies"
                notes.append(
                    f"Trim and fill ({tf.estimator}): {tf.k0} {studies} imputed on the "
                    f"{tf.side}; adjusted {scale.abbrev} = "
                    f"{format_ci(scale.show(adj.b), lb, ub, digits)}"
                )
            else:
                notes.append(
                    f"Trim and fill ({tf.estimator}): no missing studies estimated "
                    f"on the {tf.side} (k0 = 0)"
                )
    return funnel_plot(
        yi,
        vi,
        estimate=float(fit.b),
        measure=measure,
        level=fit.level if level is None else level,
        filled_yi=filled_yi,
        filled_vi=filled_vi,
        filled_estimate=filled_estimate,
        notes=notes,
        **kwargs,
    )
