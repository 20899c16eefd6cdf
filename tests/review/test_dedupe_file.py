"""`manage.py dedupe_file`: stable record ids, a named id column, and a `line` column."""

import csv
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

DATA = Path(__file__).parent / "data"


def run(path: Path, tmp_path: Path, *args: str) -> list[dict]:
    out = tmp_path / "clusters.csv"
    call_command("dedupe_file", str(path), "--output", str(out), *args)
    return list(csv.DictReader(out.open(encoding="utf-8")))


def test_web_of_science_keywords_plus_is_not_taken_for_an_id(tmp_path):
    # every record's ID tag (Keywords Plus) is the same: ids are the records' numbers
    rows = run(DATA / "wos_keywords_plus.txt", tmp_path)
    assert [(r["record_id"], r["cluster_id"], r["line"]) for r in rows] == [
        ("1", "1", "3"),
        ("2", "2", "25"),
        ("3", "1", "47"),
    ]


def test_repeated_bibtex_keys_are_numbered(tmp_path):
    source = tmp_path / "library.bib"
    source.write_text(
        "@article{barsegyan2014,\n"
        "  title = {Noradrenergic activation of the basolateral amygdala modulates the "
        "consolidation of object-in-context recognition memory},\n"
        "  author = {Barsegyan, Areg and McGaugh, James L. and Roozendaal, Benno},\n"
        "  year = {2014},\n  journal = {Frontiers in Behavioral Neuroscience},\n"
        "  volume = {8},\n  pages = {160},\n  doi = {10.3389/fnbeh.2014.00160}\n}\n\n"
        "@article{barsegyan2014,\n"
        "  title = {Noradrenergic activation of the basolateral amygdala modulates the "
        "consolidation of object-in-context recognition memory},\n"
        "  author = {Barsegyan, A. and McGaugh, J. L. and Roozendaal, B.},\n"
        "  year = {2014},\n  journal = {Front Behav Neurosci},\n"
        "  volume = {8},\n  pages = {160},\n  doi = {10.3389/fnbeh.2014.00160}\n}\n",
        encoding="utf-8",
    )
    rows = run(source, tmp_path)
    assert [(r["record_id"], r["cluster_id"], r["line"]) for r in rows] == [
        ("1", "1", "1"),
        ("2", "1", "11"),
    ]
    with pytest.raises(CommandError) as error:
        run(source, tmp_path, "--id-column", "ID")
    message = str(error.value)
    assert "library.bib" in message and "'barsegyan2014'" in message
    assert "line 1 " in message and "line 11 " in message


def test_a_title_less_entry_keeps_its_number(tmp_path):
    # entry 2 of broken_no_er.ris has no title: it is left out, the others keep their numbers
    source = tmp_path / "both.ris"
    source.write_bytes(
        (DATA / "broken_no_er.ris").read_bytes() + b"\n" + (DATA / "pubmed_small.ris").read_bytes()
    )
    rows = run(source, tmp_path)
    assert [r["record_id"] for r in rows] == ["1", "3", "4", "5"]
    assert [r["line"] for r in rows] == ["1", "11", "26", "40"]
    # the same records numbered alone: their ids do not depend on what comes before them
    alone = run(DATA / "pubmed_small.ris", tmp_path)
    assert [int(r["record_id"]) + 2 for r in alone] == [3, 4, 5]


CSV_HEADER = "id,title,year,doi\n"
RUNNING = "Running improves pattern separation during novel object recognition"


def test_csv_ids_are_numbered_unless_a_column_is_named(tmp_path):
    source = tmp_path / "records.csv"
    source.write_text(
        CSV_HEADER
        + f"a7,{RUNNING},2015,10.3233/bpl-150010\n"
        + f"a7,{RUNNING}.,2015,https://doi.org/10.3233/BPL-150010\n"
        + "c1,Sleep and memory consolidation in adolescents,2015,\n",
        encoding="utf-8",
    )
    rows = run(source, tmp_path)
    assert [(r["record_id"], r["cluster_id"], r["line"]) for r in rows] == [
        ("1", "1", "2"),
        ("2", "1", "3"),
        ("3", "3", "4"),
    ]
    with pytest.raises(CommandError) as error:
        run(source, tmp_path, "--id-column", "id")
    message = str(error.value)
    assert "records.csv" in message and "'a7'" in message
    assert "row 2" in message and "row 3" in message


def test_a_named_id_column_gives_the_ids(tmp_path):
    source = tmp_path / "records.csv"
    source.write_text(
        CSV_HEADER
        + f"a7,{RUNNING},2015,10.3233/bpl-150010\n"
        + f"b9,{RUNNING}.,2015,https://doi.org/10.3233/BPL-150010\n",
        encoding="utf-8",
    )
    rows = run(source, tmp_path, "--id-column", "id")
    assert [(r["record_id"], r["cluster_id"], r["line"]) for r in rows] == [
        ("a7", "a7", "2"),
        ("b9", "a7", "3"),
    ]


def test_a_missing_or_empty_id_column_is_an_error_and_nothing_is_written(tmp_path):
    source = tmp_path / "records.csv"
    source.write_text(
        CSV_HEADER + f"a7,{RUNNING},2015,\n" + f",{RUNNING}.,2015,\n", encoding="utf-8"
    )
    out = tmp_path / "clusters.csv"
    with pytest.raises(CommandError, match=r"records\.csv: no column 'key'"):
        call_command("dedupe_file", str(source), "--output", str(out), "--id-column", "key")
    with pytest.raises(
        CommandError, match=r"records\.csv, row 3 \(record 2\): the id column 'id' is empty"
    ):
        call_command("dedupe_file", str(source), "--output", str(out), "--id-column", "id")
    assert not out.exists()


def test_a_title_less_endnote_tagged_record_keeps_its_number(tmp_path):
    source = tmp_path / "library.enw"
    source.write_text(
        "%0 Journal Article\n%T Exercise for depression in adults\n%A Smith, John\n%D 2015\n\n"
        "%0 Journal Article\n%A Doe, Anne\n%D 2016\n\n"
        "%0 Journal Article\n%T Sleep and memory consolidation in adolescents\n%D 2017\n",
        encoding="utf-8",
    )
    rows = run(source, tmp_path)
    assert [(r["record_id"], r["line"]) for r in rows] == [("1", "1"), ("3", "10")]
