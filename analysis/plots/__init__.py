"""Publication-quality, deterministic meta-analysis figures: forest, funnel and bubble plots.

Pure matplotlib (``matplotlib.figure.Figure``, never pyplot's global state) and numpy; no
Django. Every function returns a ``Figure``; :func:`render` turns it into SVG, PNG (300 dpi) or
PDF bytes, the same bytes for the same data. The ``*_from_fit`` builders take
``analysis.engine`` results, so the numbers printed are the engine's. See docs/plots.md.
"""

from analysis.plots._scale import RATIO_MEASURES, Scale, resolve_scale
from analysis.plots._style import format_ci, format_number, format_p
from analysis.plots.bubble import RegressionLine, bubble_from_fit, bubble_plot
from analysis.plots.forest import ForestRow, PooledEstimate, forest_from_fit, forest_plot
from analysis.plots.funnel import funnel_from_fit, funnel_plot
from analysis.plots.render import FORMATS, render
from analysis.plots.rob import JUDGEMENTS, normalise_judgement
from analysis.plots.text import (
    egger_text,
    heterogeneity_text,
    model_label,
    moderator_test_text,
    subgroup_test_text,
)

__all__ = [
    "FORMATS",
    "JUDGEMENTS",
    "RATIO_MEASURES",
    "ForestRow",
    "PooledEstimate",
    "RegressionLine",
    "Scale",
    "bubble_from_fit",
    "bubble_plot",
    "egger_text",
    "forest_from_fit",
    "forest_plot",
    "format_ci",
    "format_number",
    "format_p",
    "funnel_from_fit",
    "funnel_plot",
    "heterogeneity_text",
    "model_label",
    "moderator_test_text",
    "normalise_judgement",
    "render",
    "resolve_scale",
    "subgroup_test_text",
]
