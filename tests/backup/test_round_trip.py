"""Backing up one review and restoring it: identical PRISMA counts, votes with their history,
extraction and analysis results; all or nothing; refusals with a clear message."""

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from review.backup import FORMAT_VERSION, backup_review
from review.models import Record, Review
from screening.models import BulkUploadFile, ScreeningDecision, ScreeningEvent
from tests.backup import world


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def reviews(db):
    return world.build()


def _backup(review, path: Path) -> Path:
    call_command("backup_review", review.slug, "--output", str(path), stdout=_Sink())
    return path


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def _restore(path: Path, *args) -> str:
    out = _Sink()
    call_command("restore_review", str(path), *args, stdout=out)
    return out.text


def _everything():
    """Row counts of every table a restore writes to, and the files in storage."""
    from django.apps import apps
    from django.conf import settings

    counts = {m._meta.label_lower: m._default_manager.count() for m in apps.get_models()}
    media = Path(settings.MEDIA_ROOT)
    files = sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())
    return counts, files


@pytest.mark.parametrize("slug", ["demo", "bcg"])
def test_a_copy_restored_beside_the_original_is_identical(reviews, tmp_path, slug):
    original = reviews[slug]
    before = world.snapshot(original)
    path = _backup(original, tmp_path / f"{slug}.zip")
    output = _restore(path, "--slug", f"{slug}-copy")
    copy = Review.objects.get(slug=f"{slug}-copy")
    assert copy.pk != original.pk
    after = world.snapshot(copy)
    assert after == before
    assert world.snapshot(original) == before  # the original is untouched
    # new ids: no restored record shares its id with the original's
    assert not set(copy.records.values_list("pk", flat=True)) & set(
        original.records.values_list("pk", flat=True)
    )
    assert "Matched to this site's accounts by username: " in output


def test_the_demo_round_trip_holds_history_files_and_ids_in_json(reviews, tmp_path, client):
    original = reviews["demo"]
    path = _backup(original, tmp_path / "demo.zip")
    _restore(path, "--slug", "demo-copy")
    copy = Review.objects.get(slug="demo-copy")
    # superseded votes and results are there, with their times
    old = ScreeningDecision.objects.filter(review=copy, superseded_at__isnull=False)
    assert old.count() == 1
    # the dedup event's record ids name the copy's records, not the original's
    event = copy.dedup_events.get(action="confirm")
    assert Record.objects.get(pk=event.detail["primary"]).review == copy
    assert {Record.objects.get(pk=pk).review for pk in event.detail["moved"]} == {copy}
    merge = copy.study_events.get(action="merge")
    assert {Record.objects.get(pk=pk).review for pk in merge.detail["reports"]} == {copy}
    # the full text is a file of its own, and the retrieve event names it
    retrieval = copy.records.get(retrieval__file__gt="").retrieval
    original_file = original.records.get(retrieval__file__gt="").retrieval.file.name
    assert retrieval.file.name != original_file
    assert retrieval.file.read() == world.PDF
    event = ScreeningEvent.objects.filter(review=copy, action="retrieve").last()
    assert event.detail["file"] == retrieval.file.name
    # the bulk-upload file missing when the backup was made names no file in the copy
    files = BulkUploadFile.objects.filter(upload__review=copy).order_by("position")
    kept, gone = files
    assert kept.file.read() == world.PDF  # under a new name: the original's is taken
    assert gone.file.name == ""
    # the copy works in the app: its lead opens it, screens it, and gets its full text
    lead = get_user_model().objects.get(username="lead")
    client.force_login(lead)
    for url in (
        reverse("review:dashboard", args=[copy.slug]),
        reverse("screening:records", args=[copy.slug]),
        reverse("screening:screen", args=[copy.slug, "title_abstract"]),
        reverse("analysis:prisma", args=[copy.slug]),
    ):
        assert client.get(url).status_code == 200, url
    pdf = client.get(reverse("screening:retrieval-file", args=[copy.slug, retrieval.record_id]))
    assert b"".join(pdf.streaming_content) == world.PDF


def test_restore_into_an_empty_site_keeps_the_slug_and_creates_missing_users(reviews, tmp_path):
    path = _backup(reviews["demo"], tmp_path / "demo.zip")
    before = world.snapshot(reviews["demo"])
    _wipe()  # an empty site: this database without the reviews and the demo accounts
    assert not Review.objects.exists()
    output = _restore(path)
    review = Review.objects.get(slug="demo")
    assert world.snapshot(review) == before
    created = "Created 2 account(s) that did not exist here, inactive and without a usable password"
    assert f"{created}: lead, reviewer." in output
    for user in get_user_model().objects.filter(username__in=["lead", "reviewer"]):
        assert not user.is_active
        assert not user.has_usable_password()


def _wipe():
    """Delete every review and user (the rows that PROTECT others go first)."""
    from review.backup import backup_models

    for model in reversed(backup_models()):
        if model is Record:
            model.objects.update(duplicate_of=None)
        model._base_manager.all().delete()
    get_user_model().objects.all().delete()
    assert all(not m._base_manager.exists() for m in backup_models())


def test_owner_becomes_a_lead(reviews, tmp_path):
    path = _backup(reviews["bcg"], tmp_path / "bcg.zip")
    someone = get_user_model().objects.create(username="someone")
    output = _restore(path, "--slug", "bcg-2", "--owner", "someone")
    review = Review.objects.get(slug="bcg-2")
    assert review.memberships.get(user=someone).role == "lead"
    assert "someone is a lead of the restored review." in output


def test_the_same_slug_is_refused(bcg_backup):
    path = bcg_backup
    with pytest.raises(CommandError, match=r"already has a review with the slug 'bcg'.*--slug NEW"):
        _restore(path)


def _rewrite(path: Path, out: Path, change) -> Path:
    """A copy of the backup with `change(name, bytes) -> bytes | None` applied to each member."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)
    return out


@pytest.fixture
def bcg_backup(db, tmp_path):
    """A backup of the analysis demo alone (quicker to build than the whole world)."""
    from analysis.demo import bcg_demo_load
    from tests.factories import UserFactory

    review = bcg_demo_load({"lead": (UserFactory(username="bcg-lead"), "lead")})
    return _backup(review, tmp_path / "bcg.zip")


def _refused(path: Path, message: str) -> None:
    before = _everything()
    with pytest.raises(CommandError, match=message):
        _restore(path, "--slug", "restored")
    assert _everything() == before  # nothing written: no row, no user, no file


def test_a_truncated_file_is_refused_and_writes_nothing(bcg_backup, tmp_path):
    data = bcg_backup.read_bytes()
    bad = tmp_path / "truncated.zip"
    bad.write_bytes(data[: len(data) // 2])
    _refused(bad, "is not a review backup: not a readable ZIP file")


def test_a_damaged_member_is_refused_and_writes_nothing(reviews, tmp_path):
    path = _backup(reviews["demo"], tmp_path / "demo.zip")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("data/review.record.json")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle] ^= 0xFF
    bad = tmp_path / "flipped.zip"
    bad.write_bytes(bytes(data))
    _refused(bad, "is damaged")


def test_a_row_the_database_refuses_rolls_everything_back(reviews, tmp_path):
    """The records are restored after users, files and dozens of other rows: a record whose
    year breaks a check constraint must take all of them back, and the saved files too."""
    path = _backup(reviews["demo"], tmp_path / "demo.zip")

    def break_a_record(name, data):
        if name != "data/review.record.json":
            return data
        rows = json.loads(data)
        rows[-1]["fields"]["year"] = 99
        return json.dumps(rows).encode()

    bad = _rewrite(path, tmp_path / "bad-row.zip", break_a_record)
    _refused(bad, "could not be restored: the database refused a row.*Nothing was written")


def test_a_row_pointing_outside_the_backup_is_refused(bcg_backup, tmp_path):
    def dangling(name, data):
        if name != "data/analysis.effectdata.json":
            return data
        rows = json.loads(data)
        rows[0]["fields"]["study"] = 10**9
        return json.dumps(rows).encode()

    bad = _rewrite(bcg_backup, tmp_path / "dangling.zip", dangling)
    _refused(bad, "refers to analysis.study 1000000000, which is not in the backup")


def test_a_missing_member_is_refused(bcg_backup, tmp_path):
    bad = _rewrite(
        bcg_backup, tmp_path / "missing.zip", lambda n, d: None if n.endswith("study.json") else d
    )
    _refused(bad, "is incomplete: data/analysis.study.json is missing")


def test_not_a_backup_is_refused(tmp_path):
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(CommandError, match=r"is not a review backup: it has no manifest\.json"):
        _restore(other)


def _manifest_change(path: Path, out: Path, change) -> Path:
    def rewrite(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        change(manifest)
        return json.dumps(manifest).encode()

    return _rewrite(path, out, rewrite)


def test_a_newer_format_is_refused(bcg_backup, tmp_path):
    bad = _manifest_change(
        bcg_backup, tmp_path / "newer.zip", lambda m: m.update(format_version=FORMAT_VERSION + 1)
    )
    _refused(bad, f"newer Prisma Workbench \\(backup format {FORMAT_VERSION + 1}.*Upgrade")


def test_a_backup_from_a_newer_schema_is_refused(bcg_backup, tmp_path):
    bad = _manifest_change(
        bcg_backup,
        tmp_path / "newer-schema.zip",
        lambda m: m["migrations"]["review"].append("9999_future"),
    )
    _refused(bad, "newer version.*review.9999_future are not applied here")


def test_a_backup_from_an_older_schema_is_refused(bcg_backup, tmp_path):
    bad = _manifest_change(
        bcg_backup, tmp_path / "older.zip", lambda m: m["migrations"]["analysis"].pop()
    )
    from django.db.migrations.loader import MigrationLoader

    (latest,) = [n for app, n in MigrationLoader(None).graph.leaf_nodes() if app == "analysis"]
    _refused(bad, f"older version.*this site has the migrations analysis.{latest}")


def test_the_manifest_describes_the_backup(reviews, tmp_path):
    path = _backup(reviews["demo"], tmp_path / "demo.zip")
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        users = json.loads(zf.read("users.json"))
        names = set(zf.namelist())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["vendor"] in ("sqlite", "postgresql")
    assert manifest["review"]["slug"] == "demo"
    assert manifest["counts"]["review.record"] == reviews["demo"].records.count()
    assert manifest["counts"]["screening.screeningevent"] == (
        ScreeningEvent.objects.filter(review=reviews["demo"]).count()
    )
    assert "screening.screeninglease" not in manifest["counts"]
    assert {u["username"] for u in users} == {"lead", "reviewer"}
    assert not any("password" in u for u in users)
    assert len(manifest["files"]) == 4  # export, full text, bulk file, Excel export
    assert len(manifest["missing_files"]) == 1  # the bulk file deleted from storage
    assert all(info["member"] in names for info in manifest["files"].values())
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    leaf = MigrationLoader(connection).graph.leaf_nodes("review")[0][1]
    assert manifest["migrations"]["review"][-1] == leaf  # the latest applied
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # personal data: the owner reads it


def test_a_failed_backup_leaves_no_file(reviews, tmp_path, monkeypatch):
    from review import backup

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(backup, "_copy_file", boom)
    with pytest.raises(RuntimeError):
        backup_review(reviews["demo"], tmp_path / "demo.zip")
    assert list(tmp_path.glob("demo.zip*")) == []
    assert list(tmp_path.glob(".demo.zip*")) == []


@pytest.mark.parametrize("name", ["../../evil.txt", "/var/evil.txt"])
def test_a_file_name_leaving_media_root_is_refused(bcg_backup, tmp_path, name):
    content = b"not yours"
    sha = hashlib.sha256(content).hexdigest()

    def add_file(manifest):
        manifest["files"][name] = {"member": "files/evil.txt", "sha256": sha, "size": 9}

    bad = _manifest_change(bcg_backup, tmp_path / "evil.zip", add_file)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("files/evil.txt", content)
    _refused(bad, f"the file name '{name}' is refused")
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(review="demo"), "names no review"),
        (lambda m: m["models"].append(m["models"][-1]), "lists a model twice"),
        (lambda m: m["models"][0].pop("count"), "lists no models"),
        (lambda m: m.update(files=["x"]), "lists its files wrongly"),
    ],
)
def test_a_malformed_manifest_is_refused(bcg_backup, tmp_path, change, message):
    bad = _manifest_change(bcg_backup, tmp_path / "malformed.zip", change)
    _refused(bad, f"is damaged: manifest.json {message}")


def test_backup_review_names_what_is_wrong(db, tmp_path):
    with pytest.raises(CommandError, match="No review with the slug or id 'nope'"):
        call_command("backup_review", "nope", "--output", str(tmp_path / "x.zip"))
    review = Review.objects.create(title="T", slug="t")
    with pytest.raises(CommandError, match=r"the folder .* does not exist"):
        call_command("backup_review", "t", "--output", str(tmp_path / "no" / "x.zip"))
    with pytest.raises(CommandError, match="a folder; name the file"):
        call_command("backup_review", str(review.pk), "--output", str(tmp_path))


def test_restore_review_names_a_missing_file_and_a_bad_slug_and_owner(bcg_backup, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        _restore(tmp_path / "nothing.zip")
    with pytest.raises(CommandError, match="use letters, digits"):
        _restore(bcg_backup, "--slug", "no spaces")
    with pytest.raises(CommandError, match="--owner 'ghost': no account with that username"):
        _restore(bcg_backup, "--slug", "bcg-2", "--owner", "ghost")
    assert not Review.objects.filter(slug="bcg-2").exists()
