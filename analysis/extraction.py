"""Extraction: outcomes, each study's data for an outcome, moderators and risk of bias; the bulk
upload of an extraction sheet; and the rows an outcome's analysis runs on.

Validation and the single-study effect come from the pure engine (`analysis.engine.inputs`);
this module stores what passed and nothing else, atomically.
"""

from __future__ import annotations

import functools
import io
import math
import operator
from dataclasses import dataclass
from statistics import NormalDist

from django.core.exceptions import ValidationError
from django.db import transaction

from analysis import report as reports
from analysis.engine import MetaAnalysisError
from analysis.engine import inputs as engine_inputs
from analysis.engine.converters import se_from_ci
from analysis.engine.numbers import COMMA, NumberError, format_number, parse_number
from analysis.models import (
    ROB2_DOMAINS,
    DataType,
    EffectData,
    ExtractionAction,
    ExtractionEvent,
    Judgement,
    Moderator,
    ModeratorKind,
    ModeratorValue,
    Outcome,
    RiskOfBias,
    Study,
)
from analysis.studies import label_key
from review.cells import safe_cell, unquote_cell

#: the counts among the input fields: whole numbers
INTEGER_FIELDS = {"ai", "ci", "n1i", "n2i", "ni", "xi"}
#: human names of the input fields (form labels, sheet help, messages)
FIELD_LABELS = {
    "ai": "Events, treatment group",
    "n1i": "Total, treatment group",
    "ci": "Events, control group",
    "n2i": "Total, control group",
    "m1i": "Mean, treatment group",
    "sd1i": "SD, treatment group",
    "m2i": "Mean, control group",
    "sd2i": "SD, control group",
    "ri": "Correlation r",
    "ni": "Sample size",
    "xi": "Events",
    "yi": "Effect (analysis scale)",
    "sei": "Standard error",
    "ci_lb": "CI lower bound",
    "ci_ub": "CI upper bound",
}


class ExtractionError(ValidationError):
    """Input that cannot be stored; `message_dict` maps each field to its messages."""


def _number(field: str, raw, decimal: str | None) -> float | int | None:
    """One input field as a number (None if empty), read by the one parser."""
    try:
        value = parse_number(
            raw, decimal=decimal, field=FIELD_LABELS.get(field, field), required=False
        )
    except NumberError as exc:
        raise ExtractionError({field: [str(exc)]}) from None
    if value is not None and field in INTEGER_FIELDS:
        if not float(value).is_integer():
            raise ExtractionError(
                {field: [f"{FIELD_LABELS.get(field, field)}: {raw!r} is not a whole number."]}
            )
        return int(value)
    return value


def decimal_of(review_or_outcome, decimal: str | None) -> str:
    """The decimal separator to read with: `decimal` when given ("" is "not declared"),
    otherwise the one the review declares."""
    if decimal is not None:
        return decimal
    review = getattr(review_or_outcome, "review", review_or_outcome)
    return review.decimal_separator


def clean_values(outcome: Outcome, raw: dict, *, decimal: str | None = None) -> dict:
    """The outcome's input fields as numbers, validated; raises ExtractionError naming each
    field at fault. Text is read with `decimal` (None: the review's separator; see
    `analysis.engine.numbers`). Generic effects may come with a CI instead of the SE
    (converted here; on a log-scale outcome the effect and CI are ratios, logged)."""
    decimal = decimal_of(outcome, decimal)
    errors: dict[str, list[str]] = {}
    values = {}
    wanted = list(outcome.fields)
    if outcome.data_type == DataType.GENERIC:
        wanted += ["ci_lb", "ci_ub"]
    for field in wanted:
        try:
            values[field] = _number(field, raw.get(field), decimal)
        except ExtractionError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ExtractionError(errors)
    if outcome.data_type == DataType.GENERIC:
        values = _generic(outcome, values)
    measure = outcome.measure
    problems = engine_inputs.validate(measure, {k: values.get(k) for k in outcome.fields})
    for problem in problems:
        if getattr(problem, "severity", "error") == "error":
            errors.setdefault(problem.field, []).append(problem.message)
    if errors:
        raise ExtractionError(errors)
    return {k: values[k] for k in outcome.fields}


def _generic(outcome: Outcome, values: dict) -> dict:
    yi, sei, lb, ub = (values.get(k) for k in ("yi", "sei", "ci_lb", "ci_ub"))
    if yi is None:
        raise ExtractionError({"yi": ["Effect: required."]})
    not_positive = yi <= 0 or (lb is not None and lb <= 0) or (ub is not None and ub <= 0)
    if outcome.log_scale and not_positive:
        message = "A ratio and its CI must be above 0 (enter the ratio, e.g. 0.8, not its log)."
        raise ExtractionError({"yi": [message]})
    if sei is None:
        if lb is None or ub is None:
            raise ExtractionError({"sei": ["Give the standard error, or both CI bounds."]})
        if not lb < yi < ub:
            raise ExtractionError(
                {"ci_lb": ["The CI must contain the effect (lower < effect < upper)."]}
            )
        try:
            sei = se_from_ci(lb, ub, level=outcome.level, log=outcome.log_scale)
        except ValueError as exc:
            raise ExtractionError({"ci_lb": [str(exc)]}) from exc
    if outcome.log_scale:
        yi = math.log(yi)
    return {"yi": yi, "sei": sei}


def effect_of(outcome: Outcome, values: dict) -> tuple[float, float] | None:
    """The study's effect and sampling variance under the outcome's measure (None if the
    engine cannot compute it, e.g. a zero cell under a measure that needs events)."""
    try:
        es = reports.effect_sizes(outcome.measure, [values], ["study"])
    except (MetaAnalysisError, KeyError, TypeError, ValueError):
        return None
    return float(es.yi[0]), float(es.vi[0])


def effect_summary(outcome: Outcome, values: dict) -> str | None:
    """The study's effect as the page shows it: yi, vi and the CI at the outcome's level (on the
    analysis scale), or None when it cannot be computed."""
    effect = effect_of(outcome, values)
    if effect is None:
        return None
    yi, vi = effect
    z = NormalDist().inv_cdf(0.5 + outcome.level / 200)
    half = z * math.sqrt(vi)
    level = format_number(outcome.level)
    return (
        f"{outcome.measure} {yi:.4f}, variance {vi:.4f}, "
        f"{level}% CI {yi - half:.4f} to {yi + half:.4f}"
    )


def version_of(data: EffectData | None) -> str:
    """A token of the stored row's state, carried by the edit form: a save whose token is not
    the current one was made on stale data and is refused, so nobody overwrites a colleague's
    numbers without seeing them."""
    return "new" if data is None else f"{data.pk}:{data.updated_at.isoformat()}"


def _log(review_id, action, *, user, study=None, outcome=None, before=None, after=None, detail=""):
    ExtractionEvent.objects.create(
        review_id=review_id,
        action=action,
        user=user,
        study=study,
        outcome=outcome,
        before=before,
        after=after,
        detail=detail[:300],
    )


@transaction.atomic
def save_effect_data(
    *,
    outcome: Outcome,
    study: Study,
    raw: dict,
    user,
    notes: str = "",
    expected: str | None = None,
    detail: str = "",
    decimal: str | None = None,
) -> EffectData:
    """Store a study's data for an outcome (validated), logging the change with the previous
    values. `expected`: the `version_of` token the editor saw (None: no check, e.g. a sheet).
    `decimal`: how text is read (None: the review's separator)."""
    if study.review_id != outcome.review_id:
        raise ExtractionError({"study": ["That study is not in this review."]})
    values = clean_values(outcome, raw, decimal=decimal)
    # the row is locked alone: FOR UPDATE cannot join the nullable `updated_by` on PostgreSQL
    current = (
        EffectData.objects.select_for_update()
        .filter(outcome=outcome, study=study)
        .order_by("pk")
        .first()
    )
    if expected is not None and expected != version_of(current):
        who = current.updated_by if current and current.updated_by else "someone"
        raise ExtractionError(
            {
                "__all__": [
                    f"{study.label}: {who} changed these numbers while you were editing; "
                    "nothing was saved. Reload the page to see them."
                ]
            }
        )
    before = {"values": current.values, "notes": current.notes} if current else None
    after = {"values": values, "notes": notes}
    if before == after:
        return current
    if current is None:
        current = EffectData.objects.create(
            outcome=outcome, study=study, values=values, notes=notes, updated_by=user
        )
    else:
        current.values, current.notes, current.updated_by = values, notes, user
        current.save()
    _log(
        outcome.review_id,
        ExtractionAction.DATA,
        user=user,
        study=study,
        outcome=outcome,
        before=before,
        after=after,
        detail=detail,
    )
    return current


@transaction.atomic
def save_moderator_value(
    *, moderator: Moderator, study: Study, value, user=None, detail="", decimal=None
) -> None:
    """A numeric moderator's value is read like any number (`decimal`: None for the review's
    separator) and stored as plain text with a decimal point."""
    if moderator.kind == ModeratorKind.NUMERIC:
        try:
            number = parse_number(
                value,
                decimal=decimal_of(moderator, decimal),
                field=moderator.name,
                required=False,
            )
        except NumberError as exc:
            raise ExtractionError({moderator.name: [str(exc)]}) from None
        value = "" if number is None else format_number(number)
    else:
        value = _text(value)
    current = ModeratorValue.objects.filter(moderator=moderator, study=study).first()
    old = current.value if current else ""
    if old == value:
        return
    if not value:
        current.delete()
    else:
        ModeratorValue.objects.update_or_create(
            moderator=moderator, study=study, defaults={"value": value}
        )
    _log(
        moderator.review_id,
        ExtractionAction.MODERATOR,
        user=user,
        study=study,
        before={moderator.name: old},
        after={moderator.name: value},
        detail=detail,
    )


@transaction.atomic
def save_risk_of_bias(
    *, study: Study, judgements: dict, user, notes: str = "", detail=""
) -> RiskOfBias:
    allowed = set(Judgement.values) | {""}
    clean = {}
    for name in [d for d, _ in ROB2_DOMAINS] + ["overall"]:
        value = _judgement(judgements.get(name, ""))
        if value not in allowed:
            raise ExtractionError({name: [f"{name}: {value!r} is not low, some or high."]})
        clean[name] = value
    current = RiskOfBias.objects.filter(study=study).first()
    before = {**current.judgements(), "notes": current.notes} if current else None
    after = {**clean, "notes": notes}
    if before == after:
        return current
    rob, _ = RiskOfBias.objects.update_or_create(
        study=study, defaults={**clean, "notes": notes, "updated_by": user}
    )
    _log(
        study.review_id,
        ExtractionAction.RISK_OF_BIAS,
        user=user,
        study=study,
        before=before,
        after=after,
        detail=detail,
    )
    return rob


#: judgements as people write them, robvis' RoB 2 symbols included (+ low, - some, x high)
JUDGEMENT_ALIASES = {
    "low": "low",
    "low risk": "low",
    "+": "low",
    "some": "some",
    "some concerns": "some",
    "-": "some",
    "\u2212": "some",
    "high": "high",
    "high risk": "high",
    "x": "high",
    "\u00d7": "high",
}


def _judgement(raw) -> str:
    text = _text(raw).lower()
    return JUDGEMENT_ALIASES.get(text, text)


def _text(raw) -> str:
    """A cell or form value as trimmed text (a spreadsheet's 2019.0 is "2019")."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


# --- the bulk upload -------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetSummary:
    rows: int
    effect_rows: int
    moderator_values: int
    rob_rows: int


def sheet_limits():
    """What an uploaded extraction sheet may hold: the spreadsheet limits of the imports, with
    EXTRACTION_SHEET_MAX_ROWS rows (a row is one study and outcome)."""
    from django.conf import settings

    from review.importers import xlsx

    return xlsx.Limits(
        max_uncompressed=settings.SPREADSHEET_MAX_UNCOMPRESSED_MB * 1024 * 1024,
        max_ratio=settings.SPREADSHEET_MAX_RATIO,
        max_members=settings.SPREADSHEET_MAX_MEMBERS,
        max_rows=settings.EXTRACTION_SHEET_MAX_ROWS,
        max_columns=settings.SPREADSHEET_MAX_COLUMNS,
        rows_setting="EXTRACTION_SHEET_MAX_ROWS",
    )


def _excel_cell(value):
    """A workbook value as pandas.read_excel gave it: 2019.0 is 2019, an empty cell or an error
    (#N/A) is "", numbers and dates stay what they are."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value in _EXCEL_ERRORS:
        return ""
    return value


_IS_NONE = functools.partial(operator.is_, None)


def _used_width(row: tuple) -> int:
    """The row's length without its trailing empty cells (rows come padded to
    SPREADSHEET_MAX_COLUMNS + 1), found at C speed."""
    try:
        return len(row) - list(map(_IS_NONE, reversed(row))).index(False)
    except ValueError:
        return 0


_EXCEL_ERRORS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))


def _excel_frame(name: str, content: bytes, limits):
    """The first worksheet as a frame (header: its first non-blank row), read by
    review.importers.xlsx: the zip directory is checked before anything is parsed (a zip bomb
    is refused naming the limit), at most `limits.max_rows` rows and `max_columns` columns are
    read. Like pandas.read_excel: unnamed columns are "Unnamed: i", repeated ones "name.1",
    trailing blank rows dropped."""
    import pandas as pd

    from review.importers import xlsx

    book = xlsx.open_workbook(content, name, limits)
    try:
        if not book.worksheets:
            return pd.DataFrame()
        rows = []
        for _number, row in xlsx.rows(book.worksheets[0], name, limits):
            cells = [_excel_cell(c) for c in row[: _used_width(row)]]
            while cells and cells[-1] == "":
                cells.pop()
            if cells or rows:  # blank rows before the header are skipped
                rows.append(cells)
    finally:
        book.close()
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        return pd.DataFrame()
    width = max(len(r) for r in rows)
    headers, seen = [], {}
    for i, cell in enumerate(rows[0] + [""] * (width - len(rows[0]))):
        header = str(cell) if cell != "" else f"Unnamed: {i}"
        if header in seen:
            seen[header] += 1
            header = f"{header}.{seen[header]}"
        else:
            seen[header] = 0
        headers.append(header)
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=headers, dtype=object)


def _read_sheet(name: str, content: bytes):
    """The sheet as a frame of text (and, from Excel, numbers), within `sheet_limits()`: a
    sheet is read in the request, so it is bounded (EXTRACTION_SHEET_MAX_MB by the upload,
    rows, columns, and a workbook's uncompressed size and expansion before it is parsed)."""
    import pandas as pd

    from review.importers import ImportFileError
    from review.importers.xlsx import SpreadsheetTooLarge

    limits = sheet_limits()
    try:
        if name.lower().endswith((".xlsx", ".xlsm")):
            # numeric cells stay numbers (never re-read from text); the rest is text
            frame = _excel_frame(name, content, limits)
        else:
            frame = pd.read_csv(
                io.BytesIO(content),
                dtype=str,
                sep=None,
                engine="python",
                encoding="utf-8-sig",
                nrows=limits.max_rows + 1,
            )
    except SpreadsheetTooLarge as exc:
        raise ExtractionError({"file": [str(exc)]}) from exc
    except ImportFileError as exc:
        raise ExtractionError(
            {"file": [f"{name}: cannot read it as CSV or Excel ({exc.message})."]}
        ) from exc
    except Exception as exc:  # pandas raises many kinds; all mean "not a readable sheet"
        raise ExtractionError(
            {"file": [f"{name}: cannot read it as CSV or Excel ({exc})."]}
        ) from exc
    if len(frame) > limits.max_rows:
        raise ExtractionError(
            {
                "file": [
                    f"{name}: more than {limits.max_rows:,} rows; at most {limits.max_rows:,} "
                    "are accepted (EXTRACTION_SHEET_MAX_ROWS)."
                ]
            }
        )
    if len(frame.columns) > limits.max_columns:
        raise ExtractionError(
            {
                "file": [
                    f"{name}: {len(frame.columns):,} columns; at most {limits.max_columns:,} are "
                    "accepted (SPREADSHEET_MAX_COLUMNS)."
                ]
            }
        )
    # a text cell the sheet's download quoted against formula injection ('=cmd) is the user's
    # text again (=cmd): exactly one apostrophe before a formula character is taken off
    frame.columns = [unquote_cell(str(c).strip()) for c in frame.columns]
    return frame.astype(object).where(frame.notna(), "").map(unquote_cell)


@transaction.atomic
def import_sheet(
    *, review, name: str, content: bytes, user, decimal: str | None = None
) -> SheetSummary:
    """Load an extraction sheet: one row per study and outcome, columns `study`, `outcome`, the
    outcome's input fields (escalc names: ai, n1i, ci, n2i; m1i, sd1i, …; yi with sei or ci_lb
    and ci_ub), optional `notes`, moderator columns named `moderator:<name>` and RoB 2 columns
    `rob_d1` … `rob_d5`, `rob_overall`. Every row is checked before anything is written: any
    error aborts the whole file, with every row's messages ("line 5, sd1i: …"). Text numbers
    are read with `decimal` (None: the review's separator); numeric Excel cells as they are.
    A text cell starting with an apostrophe before = + - @ (as the sheet's download writes
    user text, review.cells) is read without that one apostrophe: `'=cmd` is the study `=cmd`."""
    decimal = decimal_of(review, decimal)
    frame = _read_sheet(name, content)
    for required in ("study", "outcome"):
        if required not in frame.columns:
            raise ExtractionError(
                {"file": [f"{name}: no '{required}' column (found: {', '.join(frame.columns)})."]}
            )
    studies = {s.label: s for s in review.studies.all()}
    studies_by_key = {label_key(s.label): s for s in studies.values()}
    outcomes = {o.name: o for o in review.outcomes.all()}
    moderators = {m.name: m for m in review.moderators.all()}
    mod_columns = [c for c in frame.columns if c.startswith("moderator:")]
    for column in mod_columns:
        if column.removeprefix("moderator:").strip() not in moderators:
            raise ExtractionError(
                {
                    "file": [
                        f"{name}: column '{column}': no moderator of that name in this review "
                        f"(create it on the extraction page first)."
                    ]
                }
            )
    rob_columns = [c for c in frame.columns if c.startswith("rob_")]
    errors: list[str] = []
    effect_rows = mod_count = rob_count = 0
    seen: dict[tuple[str, str], int] = {}
    for offset, row in enumerate(frame.to_dict("records")):
        line = offset + 2  # the header is line 1
        label, outcome_name = _text(row["study"]), _text(row["outcome"])
        study = studies.get(label) or studies_by_key.get(label_key(label))
        if study is None:
            errors.append(f"line {line}, study: no included study '{label}' in this review.")
            continue
        if outcome_name:
            outcome = outcomes.get(outcome_name)
            if outcome is None:
                errors.append(f"line {line}, outcome: no outcome '{outcome_name}' in this review.")
                continue
            key = (study.pk, outcome_name)
            if key in seen:
                errors.append(f"line {line}: {label} / {outcome_name} already on line {seen[key]}.")
                continue
            seen[key] = line
            # a dual-extraction outcome takes the rows as the uploader's own extraction
            save = save_effect_data
            if outcome.dual_extraction:
                from analysis.dual import save_draft as save
            try:
                save(
                    outcome=outcome,
                    study=study,
                    raw=row,
                    user=user,
                    notes=_text(row.get("notes", "")),
                    detail=f"{name}, line {line}",
                    decimal=decimal,
                )
                effect_rows += 1
            except ExtractionError as exc:
                for field, messages in exc.message_dict.items():
                    errors.extend(f"line {line}, {field}: {m}" for m in messages)
        for column in mod_columns:
            moderator = moderators[column.removeprefix("moderator:").strip()]
            try:
                save_moderator_value(
                    moderator=moderator,
                    study=study,
                    value=row[column],
                    user=user,
                    detail=f"{name}, line {line}",
                    decimal=decimal,
                )
                mod_count += bool(_text(row[column]))
            except ExtractionError as exc:
                errors.extend(
                    f"line {line}, {column}: {m}" for ms in exc.message_dict.values() for m in ms
                )
        if rob_columns and any(_text(row[c]) for c in rob_columns):
            try:
                save_risk_of_bias(
                    study=study,
                    judgements={c.removeprefix("rob_"): row[c] for c in rob_columns},
                    user=user,
                    detail=f"{name}, line {line}",
                )
                rob_count += 1
            except ExtractionError as exc:
                errors.extend(
                    f"line {line}, rob_{f}: {m}" for f, ms in exc.message_dict.items() for m in ms
                )
    if errors:  # raising out of the atomic block rolls back every row written above
        raise ExtractionError(
            {"file": [f"{name}: {len(errors)} problem(s); nothing was saved.", *errors]}
        )
    _log(
        review.pk,
        ExtractionAction.SHEET,
        user=user,
        detail=f"{name}: {len(frame)} rows, {effect_rows} outcome rows, {mod_count} moderator "
        f"values, {rob_count} risk-of-bias rows",
    )
    return SheetSummary(len(frame), effect_rows, mod_count, rob_count)


# --- what an analysis runs on --------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeRows:
    labels: list[str]
    rows: list[dict]
    groups: list[str | None] | None
    covariate: list[float | None] | None
    rob: list[dict | None]


def outcome_rows(outcome: Outcome, *, subgroup_by=None, regress_on=None) -> OutcomeRows:
    """The outcome's extracted rows (one per study, by study label), with the subgroup label and
    the covariate of each study when asked, and its RoB 2 judgements."""
    data = list(
        EffectData.objects.filter(outcome=outcome)
        .select_related("study", "study__risk_of_bias")
        .order_by("study__label")
    )
    study_ids = [d.study_id for d in data]

    def values_of(moderator):
        if moderator is None:
            return None
        by_study = dict(
            ModeratorValue.objects.filter(moderator=moderator, study_id__in=study_ids).values_list(
                "study_id", "value"
            )
        )
        return [by_study.get(s) for s in study_ids]

    groups = values_of(subgroup_by)
    covariate = values_of(regress_on)
    if covariate is not None:
        covariate = [None if c is None else float(c) for c in covariate]
    rob = []
    for d in data:
        judged = getattr(d.study, "risk_of_bias", None)
        rob.append(judged.judgements() if judged else None)
    return OutcomeRows(
        [d.study.label for d in data], [d.values for d in data], groups, covariate, rob
    )


SETTINGS = (
    "measure",
    "method",
    "test",
    "level",
    "convention",
    "zero_add",
    "zero_to",
    "double_zero",
    "subgroup_by",
    "regress_on",
)


def _settings_of(outcome: Outcome) -> dict:
    out = {name: getattr(outcome, name) for name in SETTINGS}
    out["subgroup_by"] = outcome.subgroup_by.name if outcome.subgroup_by else None
    out["regress_on"] = outcome.regress_on.name if outcome.regress_on else None
    return out


@transaction.atomic
def keep_analysis_settings(*, outcome: Outcome, settings: dict, user) -> None:
    """Make `settings` the outcome's analysis (what exports reproduce), logged."""
    before = _settings_of(outcome)
    for name in SETTINGS:  # the zero-cell rules are only set for 2x2 tables and proportions
        setattr(outcome, name, settings.get(name, getattr(outcome, name)))
    outcome.save()
    after = _settings_of(outcome)
    if before != after:
        _log(
            outcome.review_id,
            ExtractionAction.ANALYSIS,
            user=user,
            outcome=outcome,
            before=before,
            after=after,
        )


def run_analysis(outcome: Outcome, **settings) -> reports.Report:
    """The outcome's analysis with its saved settings, overridden by `settings` (measure,
    method, test, level, subgroup_by, regress_on; `rows`: the `outcome_rows` already read for
    those moderators)."""
    measure = settings.get("measure", outcome.measure)
    subgroup_by = settings.get("subgroup_by", outcome.subgroup_by)
    regress_on = settings.get("regress_on", outcome.regress_on)
    rows = settings.get("rows") or outcome_rows(
        outcome, subgroup_by=subgroup_by, regress_on=regress_on
    )
    return reports.analyse(
        rows.labels,
        rows.rows,
        measure=measure,
        method=settings.get("method", outcome.method),
        test=settings.get("test", outcome.test),
        level=settings.get("level", outcome.level),
        log_scale=outcome.log_scale,
        groups=rows.groups,
        covariate=rows.covariate,
        covariate_name=regress_on.name if regress_on else "moderator",
        convention=settings.get("convention", outcome.convention),
        zero_cells=zero_cell_rules(
            settings.get("zero_add", outcome.zero_add),
            settings.get("zero_to", outcome.zero_to),
            settings.get("double_zero", outcome.double_zero),
        ),
    )


def zero_cell_rules(add, to, double_zero) -> reports.ZeroCellRules:
    """The Outcome's continuity-correction fields as the report's rules ("" for double-zero
    tables: as the convention does)."""
    drop00 = {"keep": False, "drop": True}.get(double_zero or "")
    return reports.ZeroCellRules(add=float(add), to=to, drop00=drop00)


def sheet_csv(review) -> str:
    """The extraction sheet for a review: columns study, outcome, every outcome's input fields,
    notes, one column per moderator and the RoB 2 judgements; a row per study and outcome with
    what is already extracted (a study with no outcome yet gets one row with an empty outcome).
    Every cell goes through `review.cells.safe_cell`: user text starting with = + - @ gets a
    leading apostrophe (the upload takes it off again), numbers stay as they are."""
    import csv

    outcomes = list(review.outcomes.all())
    fields = list(
        dict.fromkeys(
            f
            for o in outcomes
            for f in (*o.fields, *(("ci_lb", "ci_ub") if o.data_type == DataType.GENERIC else ()))
        )
    )
    moderators = list(review.moderators.all())
    rob_fields = [d for d, _ in ROB2_DOMAINS] + ["overall"]
    header = [
        "study",
        "outcome",
        *fields,
        "notes",
        *(f"moderator:{m.name}" for m in moderators),
        *(f"rob_{d}" for d in rob_fields),
    ]
    mod_values = {
        (v.study_id, v.moderator_id): v.value
        for v in ModeratorValue.objects.filter(moderator__review=review)
    }
    data = {
        (d.study_id, d.outcome_id): d for d in EffectData.objects.filter(outcome__review=review)
    }
    decimal = review.decimal_separator
    out = io.StringIO()
    # with a decimal comma, the semicolon-separated CSV that spreadsheets in those locales write
    writer = csv.writer(out, delimiter=";" if decimal == COMMA else ",")
    writer.writerow([safe_cell(name) for name in header])
    for study in review.studies.select_related("risk_of_bias").order_by("label"):
        rob = getattr(study, "risk_of_bias", None)
        tail = [
            moderator_for_input(m, mod_values.get((study.pk, m.pk), ""), decimal)
            for m in moderators
        ] + [getattr(rob, d, "") if rob else "" for d in rob_fields]
        for outcome in outcomes or [None]:
            d = data.get((study.pk, outcome.pk)) if outcome else None
            values = d.values if d else {}
            row = [
                study.label,
                outcome.name if outcome else "",
                *(number_for_input(values.get(f), decimal) for f in fields),
                d.notes if d else "",
                *tail,
            ]
            writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def number_for_input(value, decimal: str | None = None) -> str:
    """A stored value as text in the review's convention ("" for none)."""
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value, decimal)
    return str(value)


def values_for_input(values: dict, decimal: str | None) -> dict:
    """Stored values as a form shows them: numbers in the review's convention (0,187 with a
    decimal comma), so that saving the form again reads them back unchanged."""
    return {field: number_for_input(value, decimal) for field, value in values.items()}


def moderator_for_input(moderator, value: str, decimal: str | None) -> str:
    """A stored moderator value (numeric ones are kept with a decimal point) as a form shows it."""
    if moderator.kind != ModeratorKind.NUMERIC or not value:
        return value
    try:
        return format_number(parse_number(value, field=moderator.name), decimal)
    except NumberError:  # stored before numbers were checked: shown as it is
        return value
