"""`bench/bench_dedup.py` helpers: the pairwise score, the queue share and the rows handed to
bib-dedupe (its BibTeX layout), on hand-written rows."""

from bench.bench_dedup import bib_dedupe_frame, record_id, score, true_pairs_of


def test_pairwise_score_counts_pairs_not_clusters():
    truth = {1: "a", 2: "a", 3: "a", 4: "b", 5: "c"}
    # one cluster split in two, and a false join of 4 and 5
    p, r, f1 = score([[1, 2], [4, 5]], truth)
    assert true_pairs_of(truth) == {(1, 2), (1, 3), (2, 3)}
    assert (p, r) == (0.5, 1 / 3)
    assert round(f1, 4) == 0.4


def test_record_ids_keep_their_written_form():
    assert record_id("0042") == 42
    assert record_id("id_0000001") == "id_0000001"


def test_bib_dedupe_gets_bibtex_authors_issue_as_number_and_entrytype():
    row = dict.fromkeys(
        ("record_id", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi",
         "abstract", "secondary_title", "entrytype"), "",
    )  # fmt: skip
    row |= {
        "record_id": "7",
        "title": "Intestinal lipoprotein overproduction",
        "authors": "Adeli K.Lewis G. F.",
        "issue": "3",
        "secondary_title": "Curr Opin Lipidol",
    }
    frame = bib_dedupe_frame([row, {**row, "record_id": "8", "entrytype": "inproceedings"}])
    first = frame.iloc[0]
    assert first["ID"] == "7"
    assert first["author"] == "Adeli K. and Lewis G. F."
    assert first["number"] == "3"
    assert first["journal"] == "Curr Opin Lipidol"  # journal empty: the secondary title
    assert list(frame["ENTRYTYPE"]) == ["article", "inproceedings"]
