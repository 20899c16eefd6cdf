"""The engine's single exception type."""


class MetaAnalysisError(ValueError):
    """Invalid input or a model that cannot be fitted.

    Subclasses ValueError so callers that already catch ValueError keep working. The message
    always names the offending study (its label, or its 1-based position when there are no
    labels) when the problem belongs to one study.
    """


def study_name(index: int, slab) -> str:
    """'study 'Smith 2001'' when labels are known, else 'study 3' (1-based)."""
    if slab is not None:
        return f"study '{slab[index]}'"
    return f"study {index + 1}"
