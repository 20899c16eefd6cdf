"""Texts printed on the figures, built from engine results with the numbers the engine computed
(rounded with ``digits`` only)."""

from __future__ import annotations

from analysis.engine import RegtestResult, RMAResult, SubgroupResult
from analysis.plots._style import format_number, format_p

FIXED = ("FE", "EE")


def model_label(fit: RMAResult) -> str:
    """``"Random-effects model (REML)"``, ``"Common-effect model"``; Knapp-Hartung noted."""
    if fit.method in FIXED:
        label = "Common-effect model"
        return f"{label} (Knapp–Hartung)" if fit.test == "knha" else label
    extra = ", Knapp–Hartung" if fit.test == "knha" else ""
    return f"Random-effects model ({fit.method}{extra})"


def heterogeneity_text(fit: RMAResult, digits: int = 2) -> str:
    """``"Heterogeneity: τ² = 0.31, I² = 92%, Q(12) = 152.23, p < 0.001"`` (no τ² for a
    common-effect model)."""
    parts = []
    if fit.method not in FIXED:
        tau2 = fit.tau2
        if 0 < tau2 < 0.5 * 10.0**-digits:
            parts.append(f"τ² < {format_number(10.0**-digits, digits)}")
        else:
            parts.append(f"τ² = {format_number(tau2, digits)}")
    parts.append(f"I² = {format_number(fit.i2, 0)}%")
    parts.append(f"Q({fit.qe_df}) = {format_number(fit.qe, digits)}")
    parts.append(format_p(fit.qep))
    return "Heterogeneity: " + ", ".join(parts)


def moderator_test_text(fit: RMAResult, digits: int = 2) -> str:
    """The omnibus test of the moderators: ``"Q_M = 1.77, df = 2, p = 0.413"`` (z tests) or
    ``"F(2, 10) = 0.88, p = 0.444"`` (Knapp-Hartung)."""
    df1, df2 = fit.qm_df
    if df2 is not None:
        return f"F({df1}, {df2}) = {format_number(fit.qm, digits)}, {format_p(fit.qmp)}"
    return f"Q\u2098 = {format_number(fit.qm, digits)}, df = {df1}, {format_p(fit.qmp)}"


def subgroup_test_text(sg: SubgroupResult, digits: int = 2, *, kind: str = "mixed") -> str:
    """``"Test for subgroup differences: Qₘ = 1.77, df = 2, p = 0.413"``.

    ``kind="mixed"`` (default, as metafor's documented forest plot with subgroups): the
    omnibus moderator test of ``rma(yi, vi, mods = ~ group)`` with one tau²;
    ``kind="separate"``: Q between the separately fitted subgroup estimates.
    """
    if kind == "mixed":
        return "Test for subgroup differences: " + moderator_test_text(sg.mixed, digits)
    if kind == "separate":
        return (
            f"Test for subgroup differences: Q = {format_number(sg.q_between, digits)}, "
            f"df = {sg.df_between}, {format_p(sg.pval_between)}"
        )
    raise ValueError("kind must be 'mixed' or 'separate'.")


def egger_text(reg: RegtestResult, digits: int = 2) -> str:
    """``"Egger's regression test: z = -0.80, p = 0.422"`` (t with df for Knapp-Hartung and
    the classical test)."""
    stat = f"t({reg.dfs})" if reg.dfs is not None else "z"
    return (
        f"Egger's regression test: {stat} = {format_number(reg.zval, digits)}, {format_p(reg.pval)}"
    )
