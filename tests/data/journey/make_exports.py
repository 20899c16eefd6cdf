"""Writes the two search exports of the journey test from the demo's real records (run once).

    .venv/bin/python tests/data/journey/make_exports.py

Records 0-12 of `review/demo_data/Sep_2021.csv.gz` become an Embase-style RIS export and records
10-19 a PubMed MEDLINE (.nbib) export, so three records are found by both databases, as real
searches overlap. Nothing is invented: titles, abstracts, years, DOIs and PMIDs are the records'
own. Two differences that real exports of one article show are kept: Embase exports of record 12
carry neither DOI nor PMID and give the year of print (one later than PubMed's), so the
de-duplicator cannot prove the pair and asks a person (a "possible duplicate").
"""

from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def main():
    rows = pd.read_csv(ROOT / "review/demo_data/Sep_2021.csv.gz").fillna("")
    ris = []
    for i in range(0, 13):
        r = rows.iloc[i]
        doi = r.doi.removeprefix("https://doi.org/")
        ris.append("TY  - JOUR")
        ris.append(f"TI  - {r.title}")
        if r.abstract:
            ris.append(f"AB  - {r.abstract}")
        if i == 12:
            ris.append(f"PY  - {int(r.year) + 1}")
        else:
            ris.append(f"PY  - {int(r.year)}")
            ris.append(f"DO  - {doi}")
        ris.append("DB  - Embase")
        ris.append("ER  - ")
        ris.append("")
    (HERE / "embase.ris").write_text("\n".join(ris), encoding="utf-8")

    nbib = []
    for i in range(10, 20):
        r = rows.iloc[i]
        pmid = r.pmid.rsplit("/", 1)[-1]
        doi = r.doi.removeprefix("https://doi.org/")
        nbib.append(f"PMID- {pmid}")
        nbib.append(f"DP  - {int(r.year)}")
        nbib.append(f"TI  - {r.title}")
        if r.abstract:
            nbib.append(f"AB  - {r.abstract}")
        nbib.append(f"LID - {doi} [doi]")
        nbib.append("PT  - Journal Article")
        nbib.append("")
    (HERE / "pubmed.nbib").write_text("\n".join(nbib), encoding="utf-8")


if __name__ == "__main__":
    main()
