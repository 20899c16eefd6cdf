"""Bubble plots for a meta-regression on one numeric moderator (metafor's ``regplot()``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from matplotlib.transforms import Affine2D

from analysis.plots._scale import DEFAULT, axis_ticks, padded_limits, resolve_scale, ticks_within
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
    format_interval,
    format_number,
    format_p,
    format_tick,
    new_figure,
    set_description,
    style,
    wrap_text,
)

MAX_BUBBLE = 22.0  # diameter of the heaviest study, points
MIN_BUBBLE = 3.0


@dataclass(frozen=True)
class RegressionLine:
    """The fitted line and its bands at ``x`` (analysis scale): ``pred``, ``ci_lb``/``ci_ub``
    (confidence band), optionally ``pi_lb``/``pi_ub`` (prediction band)."""

    x: np.ndarray
    pred: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pi_lb: np.ndarray | None = None
    pi_ub: np.ndarray | None = None


def bubble_plot(
    mod,
    yi,
    *,
    weights,
    line: RegressionLine | None = None,
    measure: str = "GEN",
    log_scale: bool | None = None,
    transf: str | Callable | None = None,
    refline=DEFAULT,
    xlabel: str = "Moderator",
    ylabel: str | None = None,
    level: float = 95,
    notes: Sequence[str] = (),
    ylim: tuple[float, float] | None = None,
    title: str | None = None,
    width: float = 5.0,
    plot_height: float = 3.4,
    font_size: float = BASE_SIZE,
) -> Figure:
    """Effect (``yi``, analysis scale) against a moderator; circles with area proportional to
    ``weights``; the regression ``line`` with its confidence band (shaded, dashed bounds) and
    optional prediction band (dotted). Ratio measures use a log y axis with natural-scale tick
    labels. ``notes`` are printed under the plot."""
    with style():
        return _bubble(**locals())


def _bubble(
    mod,
    yi,
    *,
    weights,
    line,
    measure,
    log_scale,
    transf,
    refline,
    xlabel,
    ylabel,
    level,
    notes,
    ylim,
    title,
    width,
    plot_height,
    font_size,
):
    scale = resolve_scale(measure, log_scale=log_scale, transf=transf, refline=refline)
    x = np.asarray(mod, dtype=float).reshape(-1)
    y = np.asarray(yi, dtype=float).reshape(-1)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if not (x.shape == y.shape == w.shape) or x.size == 0:
        raise ValueError("mod, yi and weights must have the same (non-zero) length.")
    small = font_size * SMALL_SIZE / BASE_SIZE
    level_text = f"{level:g}" if level > 1 else f"{100 * level:g}"

    values = list(scale.show(y))
    if line is not None:
        for arr in (line.pred, line.ci_lb, line.ci_ub, line.pi_lb, line.pi_ub):
            if arr is not None:
                values += list(scale.show(np.asarray(arr, dtype=float)))
    if scale.refline is not None:
        values.append(scale.refline)
    if ylim is None:
        lo, hi = padded_limits(scale, values, 0.05)
        yticks = ticks_within(scale, lo, hi)
    else:
        lo, hi = map(float, ylim)
        yticks = axis_ticks(scale, [], ylim)[0]
    xlo, xhi = padded_limits(resolve_scale("GEN"), list(x), 0.06)
    xticks = ticks_within(resolve_scale("GEN"), xlo, xhi)

    left, right = 50.0, 14.0
    title_h = font_size * 2.2 if title else 0.0
    top = MARGIN + title_h
    width_pt = width * 72.0
    plot_w = width_pt - left - right
    plot_h = plot_height * 72.0
    axis_h = 3.5 + 2.5 + small * 1.25 + font_size * 1.9
    notes = [line for n in notes if n for line in wrap_text(n, plot_w, small)]
    notes_h = len(notes) * small * 1.7 + (6.0 if notes else 0.0)
    bottom = axis_h + notes_h + MARGIN
    width_pt, height_pt = figure_size(width_pt, top + plot_h + bottom)
    fig = new_figure(width_pt, height_pt)
    ax = fig.add_axes((left / width_pt, bottom / height_pt, plot_w / width_pt, plot_h / height_pt))
    points = Affine2D().scale(1.0 / 72.0) + fig.dpi_scale_trans
    if scale.log:
        ax.set_yscale("log")
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(lo, hi)
    for axis, ticks in ((ax.xaxis, xticks), (ax.yaxis, yticks)):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FixedFormatter([format_tick(t) for t in ticks]))
        axis.set_minor_locator(NullLocator())
    ax.tick_params(labelsize=small, length=3.5, width=0.8, pad=2.5, color=INK, labelcolor=INK)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(xlabel, fontsize=font_size, labelpad=4.0)
    ax.set_ylabel(
        ylabel if ylabel is not None else scale.axis_label, fontsize=font_size, labelpad=6.0
    )

    if scale.refline is not None and lo <= scale.refline <= hi:
        ax.axhline(
            scale.refline,
            color=GREY,
            linewidth=0.8,
            linestyle=(0, (1.5, 2.0)),
            zorder=1,
            gid="refline",
        )
    if line is not None:
        lx = np.asarray(line.x, dtype=float)
        lb, ub = scale.show_interval(line.ci_lb, line.ci_ub)
        ax.fill_between(
            lx, lb, ub, facecolor=LIGHT, edgecolor="none", zorder=0, gid="regression-ci-band"
        )
        for arr, gid in ((lb, "regression-ci-lower"), (ub, "regression-ci-upper")):
            ax.add_line(
                Line2D(
                    lx, arr, color=GREY, linewidth=0.8, linestyle=(0, (4, 2.5)), zorder=2, gid=gid
                )
            )
        if line.pi_lb is not None and line.pi_ub is not None:
            plb, pub = scale.show_interval(line.pi_lb, line.pi_ub)
            for arr, gid in ((plb, "regression-pi-lower"), (pub, "regression-pi-upper")):
                ax.add_line(
                    Line2D(
                        lx,
                        arr,
                        color=GREY,
                        linewidth=0.8,
                        linestyle=(0, (1, 1.5)),
                        zorder=2,
                        gid=gid,
                    )
                )
        ax.add_line(
            Line2D(
                lx,
                scale.show(np.asarray(line.pred, dtype=float)),
                color=INK,
                linewidth=1.2,
                zorder=3,
                gid="regression-line",
            )
        )
    wmax = float(w.max()) if w.size and w.max() > 0 else 1.0
    sizes = np.maximum(MIN_BUBBLE**2, MAX_BUBBLE**2 * w / wmax)  # area proportional to weight
    order = np.argsort(-w, kind="stable")  # heavy studies first, small ones stay visible
    ax.scatter(
        x[order],
        scale.show(y[order]),
        s=sizes[order],
        marker="o",
        facecolors="#9a9a9a",
        edgecolors=INK,
        linewidths=0.6,
        alpha=0.75,
        zorder=4,
        clip_on=False,
        gid="bubbles",
    )

    y_text = bottom - axis_h - small * 0.9
    y_text = draw_notes(fig, notes, left, y_text, points, small, "bubble-note")
    draw_title(fig, title, width_pt, height_pt, font_size)
    band = f" with its {level_text}% confidence band" if line is not None else ""
    set_description(
        fig,
        title or "Bubble plot",
        f"Bubble plot of {x.size} studies against {xlabel}; fitted meta-regression line{band}.",
    )
    return fig


def bubble_from_fit(
    mod,
    yi,
    vi,
    fit,
    *,
    measure: str | None = None,
    xlabel: str = "Moderator",
    prediction: bool = False,
    digits: int = 2,
    n_points: int = 101,
    **kwargs,
) -> Figure:
    """A bubble plot of an engine meta-regression ``rma(yi, vi, mods=mod)`` with one numeric
    moderator: the line and bands come from ``predict(fit, newmods=grid)`` (the fit's
    coefficients and ``vb``; t quantiles for Knapp-Hartung), bubble areas from ``fit.weights``.
    A note gives the slope with its CI and test, tau² and R². ``yi``/``vi`` may be None."""
    from analysis.engine import predict

    if fit.int_only or fit.p != 2 or not fit.int_incl:
        raise ValueError("bubble_from_fit() needs a model with an intercept and one moderator.")
    x = np.asarray(mod, dtype=float).reshape(-1)
    yi = np.asarray(fit.yi if yi is None else yi, dtype=float)
    vi = np.asarray(fit.vi if vi is None else vi, dtype=float)
    if x.shape[0] != fit.k or not np.allclose(x, fit.X[:, 1], rtol=1e-12, atol=0):
        raise ValueError("mod is not the moderator the model was fitted with.")
    if not (
        np.allclose(yi, fit.yi, rtol=1e-12, atol=0) and np.allclose(vi, fit.vi, rtol=1e-12, atol=0)
    ):
        raise ValueError("yi and vi are not the data the model was fitted to.")
    grid = np.linspace(float(x.min()), float(x.max()), int(n_points))
    pred = predict(fit, newmods=grid[:, None])
    with_pi = prediction and pred.pi_lb is not None
    line = RegressionLine(
        x=grid,
        pred=np.asarray(pred.pred),
        ci_lb=np.asarray(pred.ci_lb),
        ci_ub=np.asarray(pred.ci_ub),
        pi_lb=np.asarray(pred.pi_lb) if with_pi else None,
        pi_ub=np.asarray(pred.pi_ub) if with_pi else None,
    )
    measure = measure or fit.measure
    notes = list(kwargs.pop("notes", ()))
    log = resolve_scale(measure, log_scale=kwargs.get("log_scale"), transf=kwargs.get("transf")).log
    notes.append(_slope_text(fit, digits, log=log))
    return bubble_plot(
        x,
        yi,
        weights=np.asarray(fit.weights, dtype=float),
        line=line,
        measure=measure,
        xlabel=xlabel,
        level=fit.level,
        notes=notes,
        **kwargs,
    )


def _slope_text(fit, digits: int, *, log: bool = False) -> str:
    """``"Slope = -0.029 [-0.043, -0.015] (95% CI), z = -4.04, p < 0.001; τ² = 0.08, R² = 76%"``
    (printed with typographic minus signs)."""
    b = float(fit.b[1])
    d = digits
    if b != 0:  # at least two significant digits
        d = max(digits, 1 - int(np.floor(np.log10(abs(b)))))
    stat = f"t({fit.ddf})" if fit.ddf is not None else "z"
    level = f"{fit.level:g}" if fit.level > 1 else f"{100 * fit.level:g}"
    name = "Slope (log scale)" if log else "Slope"
    text = (
        f"{name} = {format_number(b, d)} "
        f"[{format_interval(float(fit.ci_lb[1]), float(fit.ci_ub[1]), d)}] "
        f"({level}% CI), {stat} = {format_number(float(fit.zval[1]), digits)}, "
        f"{format_p(float(fit.pval[1]))}"
    )
    if fit.method not in ("FE", "EE"):
        text += f"; τ² = {format_number(fit.tau2, digits)}"
    if fit.r2 is not None:
        text += f", R² = {format_number(fit.r2, 0)}%"
    return text
