"""manage.py simulate_screening end to end: no database, the order file, the report, and clear
errors for bad input."""

import csv
import gzip
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
SEP = ROOT / "review" / "demo_data" / "Sep_2021.csv.gz"


def read_ids(path):
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id"]
    return [r[0] for r in rows[1:]]


def test_writes_every_record_once_priors_first(tmp_path):
    out = tmp_path / "order.csv"
    stdout = StringIO()
    call_command(
        "simulate_screening",
        "--data", str(SEP), "--seed", "1", "--output", str(out),
        "--prior-included", "107", "--prior-excluded", "142", "--stop",
        stdout=stdout,
    )  # fmt: skip
    ids = read_ids(out)
    assert ids[:2] == ["107", "142"]
    assert sorted(ids, key=int) == [str(i) for i in range(271)]
    text = stdout.getvalue()
    for words in ("WSS@95", "records to 95% recall", "records to 100% recall", "recall@10%",
                  "time:", "stopping rule"):  # fmt: skip
        assert words in text


def test_runs_without_database_or_secret_key(tmp_path):
    data = tmp_path / "small.csv"
    data.write_text(
        "id,title,abstract,label_included\n"
        "a,aspirin stroke trial,aspirin lowers stroke risk,1\n"
        "b,soil bacteria,farm soil microbes,0\n"
        "c,stroke aspirin study,trial of aspirin after stroke,1\n"
        "d,farm animals,virus in pigs,0\n"
        "e,bacteria in soil,soil survey,0\n",
        encoding="utf-8",
    )
    out = tmp_path / "order.csv"
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env.update(DEBUG="false", DJANGO_SETTINGS_MODULE="config.settings",
               DATABASE_URL=f"sqlite:///{tmp_path}/absent/none.sqlite3")  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "simulate_screening", "--data", str(data),
         "--seed", "3", "--output", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(read_ids(out)) == ["a", "b", "c", "d", "e"]
    assert not (tmp_path / "absent").exists()


def test_default_priors_come_from_the_seed(tmp_path):
    out = tmp_path / "order.csv"
    call_command("simulate_screening", "--data", str(SEP), "--seed", "1", "--output", str(out),
                 stdout=StringIO())  # fmt: skip
    assert read_ids(out)[:2] == ["107", "142"]  # priors.json, Sep_2021, seed 1


def write_gz(path, text):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(text)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,title,label_included\n1,x,1\n", "missing column abstract"),
        ("id,title,abstract,label_included\n1,x,y,1\n2,z,w,maybe\n", "line 3: label_included"),
        ("id,title,abstract,label_included\n1,x,y,1\n1,z,w,0\n", "id 1 already on line 2"),
        ("id,title,abstract,label_included\n1,x,y,0\n2,z,w,0\n", "at least one 1 and one 0"),
    ],
)
def test_bad_files_are_named_with_their_problem(tmp_path, content, message):
    data = tmp_path / "bad.csv.gz"
    write_gz(data, content)
    with pytest.raises(CommandError, match=message) as info:
        call_command("simulate_screening", "--data", str(data), "--output",
                     str(tmp_path / "o.csv"))  # fmt: skip
    assert "bad.csv.gz" in str(info.value)


def test_missing_file_and_unknown_prior(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("simulate_screening", "--data", str(tmp_path / "nope.csv"), "--output",
                     str(tmp_path / "o.csv"))  # fmt: skip
    with pytest.raises(CommandError, match="--prior-included 9999: no record"):
        call_command("simulate_screening", "--data", str(SEP), "--output",
                     str(tmp_path / "o.csv"), "--prior-included", "9999")  # fmt: skip
    with pytest.raises(CommandError, match="--prior-excluded 107: its label_included is 1"):
        call_command("simulate_screening", "--data", str(SEP), "--output",
                     str(tmp_path / "o.csv"), "--prior-excluded", "107")  # fmt: skip


def test_not_gzip_is_reported(tmp_path):
    data = tmp_path / "plain.csv.gz"
    data.write_text("id,title,abstract,label_included\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"plain\.csv\.gz: cannot read it as gzip"):
        call_command("simulate_screening", "--data", str(data), "--output",
                     str(tmp_path / "o.csv"))  # fmt: skip


def test_several_seeds_vectorise_once_and_write_one_order_each(tmp_path):
    out = tmp_path / "order.csv"
    stdout = StringIO()
    call_command(
        "simulate_screening", "--data", str(SEP), "--seed", "1", "2", "--output", str(out),
        stdout=stdout,
    )  # fmt: skip
    text = stdout.getvalue()
    assert text.count("vectorised 271 records") == 1
    assert "mean WSS@95 over 2 seeds" in text
    first, second = read_ids(tmp_path / "order.seed1.csv"), read_ids(tmp_path / "order.seed2.csv")
    assert sorted(first) == sorted(second) and len(set(first)) == 271
    # each seed is the same simulation as a run with that seed alone
    alone = tmp_path / "alone.csv"
    call_command(
        "simulate_screening", "--data", str(SEP), "--seed", "2", "--output", str(alone),
        stdout=StringIO(),
    )  # fmt: skip
    assert read_ids(alone) == second
    with pytest.raises(CommandError, match="one seed only"):
        call_command(
            "simulate_screening", "--data", str(SEP), "--seed", "1", "2", "--output", str(out),
            "--prior-included", first[0],
        )  # fmt: skip
