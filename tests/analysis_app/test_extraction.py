"""Extraction: validated storage of each study's data, generic effects from a CI, moderators and
RoB 2 judgements, and the atomic bulk upload of an extraction sheet (CSV and Excel)."""

import io
import math

import openpyxl
import pytest

from analysis import extraction
from analysis.models import (
    DataType,
    EffectData,
    Moderator,
    ModeratorValue,
    Outcome,
    RiskOfBias,
    Study,
)
from tests.analysis.reference import data


@pytest.fixture
def setup(review, lead):
    outcome = Outcome.objects.create(
        review=review, name="Mortality", data_type=DataType.BINARY, measure="OR"
    )
    studies = [Study.objects.create(review=review, label=f"Trial {i}") for i in range(1, 4)]
    return outcome, studies


def test_values_are_validated_field_by_field(setup, lead):
    outcome, (study, *_) = setup
    with pytest.raises(extraction.ExtractionError) as caught:
        extraction.save_effect_data(
            outcome=outcome,
            study=study,
            raw={"ai": "12", "n1i": "10", "ci": "3", "n2i": "20"},
            user=lead,
        )
    assert "ai" in caught.value.message_dict  # more events than participants
    with pytest.raises(extraction.ExtractionError) as caught:
        extraction.save_effect_data(
            outcome=outcome,
            study=study,
            raw={"ai": "2.5", "n1i": "10", "ci": "x", "n2i": ""},
            user=lead,
        )
    problems = caught.value.message_dict
    assert "whole number" in " ".join(problems["ai"]) and "not a number" in " ".join(problems["ci"])
    assert not EffectData.objects.exists()


def test_saved_data_gives_escalcs_effect(setup, lead):
    outcome, (study, *_) = setup
    extraction.save_effect_data(
        outcome=outcome,
        study=study,
        raw={"ai": "4", "n1i": "123", "ci": "11", "n2i": "139"},
        user=lead,
    )
    stored = EffectData.objects.get()
    assert stored.values == {"ai": 4, "n1i": 123, "ci": 11, "n2i": 139}
    yi, vi = extraction.effect_of(outcome, stored.values)
    # log OR of Aronson 1948 (dat.bcg): log(4·128 / (119·11)); vi = 1/4 + 1/119 + 1/11 + 1/128
    assert math.isclose(yi, math.log(4 * 128 / (119 * 11)), rel_tol=1e-12)
    assert math.isclose(vi, 1 / 4 + 1 / 119 + 1 / 11 + 1 / 128, rel_tol=1e-12)
    # saving again replaces, never duplicates
    extraction.save_effect_data(
        outcome=outcome,
        study=study,
        raw={"ai": "5", "n1i": "123", "ci": "11", "n2i": "139"},
        user=lead,
    )
    assert EffectData.objects.get().values["ai"] == 5


def test_generic_ratio_with_a_ci_is_stored_on_the_log_scale(review, lead):
    outcome = Outcome.objects.create(
        review=review, name="Death (HR)", data_type=DataType.GENERIC, measure="GEN", log_scale=True
    )
    study = Study.objects.create(review=review, label="Cohort A")
    extraction.save_effect_data(
        outcome=outcome, study=study, raw={"yi": "0.8", "ci_lb": "0.5", "ci_ub": "1.28"}, user=lead
    )
    values = EffectData.objects.get().values
    assert math.isclose(values["yi"], math.log(0.8), rel_tol=1e-12)
    # SE = (ln 1.28 - ln 0.5) / (2 · 1.959964)
    assert math.isclose(
        values["sei"], (math.log(1.28) - math.log(0.5)) / (2 * 1.959963984540054), rel_tol=1e-9
    )
    with pytest.raises(extraction.ExtractionError, match="contain the effect"):
        extraction.save_effect_data(
            outcome=outcome,
            study=study,
            raw={"yi": "0.8", "ci_lb": "0.9", "ci_ub": "1.28"},
            user=lead,
        )
    with pytest.raises(extraction.ExtractionError, match="above 0"):
        extraction.save_effect_data(
            outcome=outcome, study=study, raw={"yi": "-0.2", "sei": "0.1"}, user=lead
        )


def test_moderators_and_risk_of_bias(setup, lead, review):
    _, (study, *_) = setup
    latitude = Moderator.objects.create(review=review, name="latitude", kind="numeric")
    with pytest.raises(extraction.ExtractionError, match="not a number"):
        extraction.save_moderator_value(moderator=latitude, study=study, value="north")
    extraction.save_moderator_value(moderator=latitude, study=study, value="44")
    assert ModeratorValue.objects.get().value == "44"
    extraction.save_moderator_value(moderator=latitude, study=study, value="")
    assert not ModeratorValue.objects.exists()
    rob = extraction.save_risk_of_bias(
        study=study,
        judgements={"d1": "Low", "d2": "-", "d5": "x", "overall": "high"},
        user=lead,
    )
    assert rob.judgements() == {
        "d1": "low",
        "d2": "some",
        "d3": "",
        "d4": "",
        "d5": "high",
        "overall": "high",
    }
    with pytest.raises(extraction.ExtractionError, match="low, some or high"):
        extraction.save_risk_of_bias(study=study, judgements={"d1": "medium"}, user=lead)


def bcg_sheet(rows=None) -> str:
    d = data("bcg_RR")
    lines = ["study,outcome,ai,n1i,ci,n2i,moderator:allocation,rob_d1,rob_overall"]
    for i in range(len(d["author"])):
        tpos, tneg, cpos, cneg = (int(d[k][i]) for k in ("tpos", "tneg", "cpos", "cneg"))
        lines.append(
            f"{d['author'][i]} {d['year'][i]},TB,{tpos},{tpos + tneg},{cpos},{cpos + cneg},"
            f"{d['alloc'][i]},low,some"
        )
    return "\n".join(lines if rows is None else lines[: rows + 1]) + "\n"


@pytest.fixture
def bcg_review(review):
    d = data("bcg_RR")
    for i in range(len(d["author"])):
        Study.objects.create(review=review, label=f"{d['author'][i]} {d['year'][i]}")
    Outcome.objects.create(review=review, name="TB", data_type=DataType.BINARY, measure="RR")
    Moderator.objects.create(review=review, name="allocation", kind="categorical")
    return review


def test_sheet_upload_loads_every_row(bcg_review, lead):
    summary = extraction.import_sheet(
        review=bcg_review, name="bcg.csv", content=bcg_sheet().encode(), user=lead
    )
    assert (summary.rows, summary.effect_rows, summary.moderator_values, summary.rob_rows) == (
        13,
        13,
        13,
        13,
    )
    outcome = Outcome.objects.get(review=bcg_review)
    d = data("bcg_RR")
    rows = extraction.outcome_rows(outcome)
    # the effects computed from the stored counts are metafor's escalc values
    for label, values in zip(rows.labels, rows.rows, strict=True):
        i = [f"{a} {y}" for a, y in zip(d["author"], d["year"], strict=True)].index(label)
        yi, vi = extraction.effect_of(outcome, values)
        assert math.isclose(yi, float(d["yi"][i]), rel_tol=1e-12)
        assert math.isclose(vi, float(d["vi"][i]), rel_tol=1e-12)
    assert RiskOfBias.objects.filter(overall="some").count() == 13
    # every row is in the extraction log with the file and line it came from
    from analysis.models import ExtractionEvent

    first = ExtractionEvent.objects.filter(action="data").first()
    assert first.detail == "bcg.csv, line 2" and first.before is None and first.user == lead
    assert (
        ExtractionEvent.objects.filter(action="sheet").get().detail.startswith("bcg.csv: 13 rows")
    )
    # loading the same sheet again changes nothing and logs no change
    extraction.import_sheet(
        review=bcg_review, name="bcg.csv", content=bcg_sheet().encode(), user=lead
    )
    assert ExtractionEvent.objects.filter(action="data").count() == 13


def test_a_bad_row_saves_nothing_and_names_line_and_column(bcg_review, lead):
    lines = bcg_sheet().splitlines()
    lines[3] = lines[3].replace(",TB,", ",TB,").split(",")
    lines[3][2] = "999999"  # events above the total on line 4
    lines[3] = ",".join(lines[3])
    lines.append("Nobody 2000,TB,1,10,1,10,random,,")
    with pytest.raises(extraction.ExtractionError) as caught:
        extraction.import_sheet(
            review=bcg_review, name="bad.csv", content="\n".join(lines).encode(), user=lead
        )
    messages = caught.value.message_dict["file"]
    assert messages[0].startswith("bad.csv: 2 problem(s); nothing was saved")
    assert any(m.startswith("line 4, ai:") for m in messages)
    assert any("line 15, study: no included study 'Nobody 2000'" in m for m in messages)
    assert not EffectData.objects.exists() and not ModeratorValue.objects.exists()
    assert not RiskOfBias.objects.exists()


def test_excel_sheet_and_the_downloaded_sheet_round_trip(bcg_review, lead):
    book = openpyxl.Workbook()
    sheet = book.active
    for line in bcg_sheet().splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    extraction.import_sheet(
        review=bcg_review, name="bcg.xlsx", content=buffer.getvalue(), user=lead
    )
    before = {
        (d.study.label, tuple(sorted(d.values.items())))
        for d in EffectData.objects.select_related("study")
    }
    assert len(before) == 13
    # the sheet the app writes loads back to the same values
    written = extraction.sheet_csv(bcg_review)
    EffectData.objects.all().delete()
    extraction.import_sheet(
        review=bcg_review, name="again.csv", content=written.encode(), user=lead
    )
    after = {
        (d.study.label, tuple(sorted(d.values.items())))
        for d in EffectData.objects.select_related("study")
    }
    assert after == before


def test_unknown_columns_and_unreadable_files_are_named(bcg_review, lead):
    with pytest.raises(extraction.ExtractionError, match="no 'outcome' column"):
        extraction.import_sheet(
            review=bcg_review, name="x.csv", content=b"study,ai\nA,1\n", user=lead
        )
    with pytest.raises(extraction.ExtractionError, match=r"moderator:size.*no moderator"):
        extraction.import_sheet(
            review=bcg_review,
            name="x.csv",
            content=b"study,outcome,moderator:size\nA,TB,1\n",
            user=lead,
        )
    with pytest.raises(extraction.ExtractionError, match=r"x\.xlsx: cannot read"):
        extraction.import_sheet(review=bcg_review, name="x.xlsx", content=b"not excel", user=lead)


def test_ratios_entered_with_their_ci_pool_as_metafor_pools_the_counts(review, lead):
    """dat.bcg's 13 risk ratios entered as a paper prints them (RR and 95% CI) give back metafor's
    log RR and variance, and the pooled REML estimate of the 2x2 counts."""
    from analysis.extraction import run_analysis
    from tests.analysis.reference import result

    outcome = Outcome.objects.create(
        review=review,
        name="TB (RR as printed)",
        data_type=DataType.GENERIC,
        measure="GEN",
        log_scale=True,
    )
    d = data("bcg_RR")
    z = 1.959963984540054
    for i, (yi, vi) in enumerate(zip(d["yi"], d["vi"], strict=True)):
        yi, se = float(yi), math.sqrt(float(vi))
        study = Study.objects.create(review=review, label=f"{d['author'][i]} {d['year'][i]}")
        extraction.save_effect_data(
            outcome=outcome,
            study=study,
            user=lead,
            raw={
                "yi": repr(math.exp(yi)),
                "ci_lb": repr(math.exp(yi - z * se)),
                "ci_ub": repr(math.exp(yi + z * se)),
            },
        )
    report = run_analysis(outcome)
    ref = result("bcg_RR")["random"]["REML"]["z"]
    assert math.isclose(report.main.estimate, ref["b"], rel_tol=1e-6)
    assert math.isclose(report.main.tau2, ref["tau2"], rel_tol=1e-6)
    assert math.isclose(report.main.natural["estimate"], math.exp(ref["b"]), rel_tol=1e-6)
