"""The pure matcher of uploaded full texts to the records sought for retrieval."""

import subprocess
import sys

from screening.fulltext_match import Candidate, PdfFile, dois_in, match_files

RECORDS = [
    Candidate(id=11, doi="10.1000/xyz123", title="Aspirin for the prevention of stroke"),
    Candidate(id=12, doi="10.1016/j.jclinepi.2021.03.001", title="The PRISMA 2020 statement"),
    Candidate(
        id=13,
        doi="",
        title="Exercise training in heart failure with preserved ejection fraction: a trial",
    ),
    Candidate(id=14, doi="", title="Statins in older adults"),
]


def one(file, candidates=RECORDS):
    return match_files([file], candidates)[0]


def test_a_doi_in_the_first_page_text_matches():
    match = one(PdfFile("scan0001.pdf", "Journal of Things\nhttps://doi.org/10.1000/XYZ123.\n"))
    assert (match.record_id, match.method, match.score) == (11, "doi", 100.0)


def test_the_first_doi_of_a_candidate_wins_over_reference_dois_later():
    text = "doi:10.1016/j.jclinepi.2021.03.001\n... References ... 10.1000/xyz123"
    assert one(PdfFile("a.pdf", text)).record_id == 12


def test_a_doi_in_the_metadata_matches():
    match = one(PdfFile("a.pdf", "", {"doi": "10.1016/J.JCLINEPI.2021.03.001"}))
    assert (match.record_id, match.method) == (12, "doi")


def test_a_doi_in_the_file_name_matches():
    match = one(PdfFile("10.1000_xyz123.pdf", ""))
    assert (match.record_id, match.method) == (11, "filename")
    match = one(PdfFile("10.1016_j.jclinepi.2021.03.001.pdf", ""))
    assert match.record_id == 12


def test_a_record_number_in_the_file_name_matches():
    assert (one(PdfFile("13.pdf", "")).record_id, one(PdfFile("13.pdf", "")).method) == (
        13,
        "filename",
    )
    assert one(PdfFile("record-14.PDF", "")).record_id == 14
    assert one(PdfFile("Record 14.pdf", "")).record_id == 14
    assert one(PdfFile("999.pdf", "")).record_id is None  # no such record


def test_a_title_in_the_metadata_matches_by_similarity():
    match = one(PdfFile("x.pdf", "", {"Title": "Aspirin for prevention of stroke"}))
    assert (match.record_id, match.method) == (11, "title")
    assert 90 <= match.score < 100


def test_a_title_on_the_first_page_matches_by_similarity():
    text = (
        "ORIGINAL ARTICLE\nExercise training in heart failure with preserved\n"
        "ejection fraction: a randomised trial\nJ. Smith, A. Jones\nAbstract Background ..."
    )
    match = one(PdfFile("x.pdf", text))
    assert (match.record_id, match.method) == (13, "title")


def test_a_file_that_resembles_no_record_is_unmatched():
    match = one(PdfFile("notes.pdf", "Minutes of the team meeting", {"Title": "Microsoft Word"}))
    assert (match.record_id, match.method, match.score) == (None, "", 0.0)
    assert not match.duplicate


def test_a_short_title_is_not_matched_inside_a_long_text():
    """'Statins in older adults' appears in a sentence of another paper: not a match."""
    match = one(PdfFile("x.pdf", "We discuss statins in older adults and their risks ..."))
    assert match.record_id is None


def test_two_files_matching_one_record_are_both_flagged():
    files = [
        PdfFile("10.1000_xyz123.pdf", ""),
        PdfFile("aspirin.pdf", "", {"Title": "Aspirin for the prevention of stroke"}),
        PdfFile("13.pdf", ""),
    ]
    matches = match_files(files, RECORDS)
    assert [m.record_id for m in matches] == [11, 11, 13]
    assert [m.duplicate for m in matches] == [True, True, False]
    assert [m.filename for m in matches] == [f.filename for f in files]


def test_doi_extraction_strips_punctuation_and_lowercases():
    assert dois_in("see (doi:10.1000/ABC.1), and https://doi.org/10.5555/x-y_z;") == [
        "10.1000/abc.1",
        "10.5555/x-y_z",
    ]


def test_the_matcher_imports_no_django():
    code = (
        "import sys, screening.fulltext_match, screening.fulltext_pdf; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_title_close_to_two_records_is_ambiguous_and_unmatched():
    twins = [
        Candidate(id=1, doi="", title="Aspirin for the prevention of stroke (A)"),
        Candidate(id=2, doi="", title="Aspirin for the prevention of stroke (B)"),
    ]
    match = one(PdfFile("x.pdf", "", {"Title": "Aspirin for the prevention of stroke"}), twins)
    assert match.record_id is None
    assert match.note.startswith("ambiguous: records ")
