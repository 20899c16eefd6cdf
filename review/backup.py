"""One review's backup and restore: `manage.py backup_review` and `manage.py restore_review`.

A backup is one ZIP file:

- `manifest.json`: the format and its version, the app's version, the migrations applied on the
  site that made it, the database vendor, when it was made, the review (id, slug, title), and per
  model its member and row count, and the files with their SHA-256;
- `users.json`: the accounts the rows name (id on the old site, username, e-mail, names; never a
  password hash);
- `data/<app>.<model>.json`: the review's rows of each model, Django's serialisation of them
  (with full-precision times), in an order where every row comes after the rows it points to;
- `files/<storage name>`: every file a row names (search exports as uploaded, full texts, bulk
  uploads, queued exports), under its name in storage.

Which models belong to a review is found through `_meta`, not listed: every model with a chain
of foreign keys to `Review` (`owner_paths`), except those in `EXCLUDED`, with why. A new model is
therefore backed up without anyone remembering to; `uncovered_models` names a model that is
linked to a review some other way (a many-to-many field, say) so a test can fail on it.

Restore writes everything in one transaction, with new primary keys: a review can be restored
into a site that has other reviews, or a second copy of itself (`slug`). Foreign keys, and the ids
kept in JSON fields (`JSON_IDS`), are rewritten through the old → new maps. Users are matched by
username; a missing one is created inactive, without a usable password. A file whose name is
taken gets a new name (the row follows). If anything fails, nothing stays: the transaction rolls
back and the files saved so far are deleted.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import io
import json
import os
import re
import tempfile
import tomllib
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_slug
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from review.models import Review

FORMAT = "prisma-workbench-review-backup"
FORMAT_VERSION = 1
CHUNK = 2000

#: models with a foreign-key path to a review that a backup leaves out, and why
EXCLUDED = {
    "accounts.invitation": "an invitation is a single-use link sent by e-mail; its token hash is "
    "unique on a site, and a restored copy would make an old link work on another site. Invite "
    "people again.",
    "screening.screeninglease": "a lease is work allocation that expires within minutes "
    "(SCREENING_LEASE_MINUTES); the votes and events are what reviewers did.",
}


class BackupError(Exception):
    """A backup or restore refused or failed, with a message for the person running it."""


# --- which rows belong to a review ---------------------------------------------------------------


def _label(model) -> str:
    return model._meta.label_lower


def _foreign_keys(model) -> list:
    return [f for f in model._meta.concrete_fields if f.many_to_one or f.one_to_one]


def owner_paths(all_models: Iterable | None = None) -> dict[type[models.Model], str]:
    """Every model with a chain of foreign keys to `Review` → the lookup from it to its review
    (`review`, `study__review`, `round__review`, …), preferring a direct link, then links that
    cannot be empty, then short chains. `EXCLUDED` models are left out."""
    candidates = [
        m
        for m in (all_models or apps.get_models(include_auto_created=True))
        if m is not Review and _label(m) not in EXCLUDED
    ]
    best: dict = {}  # model → (nullable links, length, path)
    changed = True
    while changed:
        changed = False
        for model in candidates:
            for f in _foreign_keys(model):
                target = f.related_model
                if target is Review:
                    option = (int(f.null), 1, f.name)
                elif target in best and target is not model:
                    nulls, length, path = best[target]
                    option = (nulls + int(f.null), length + 1, f"{f.name}__{path}")
                else:
                    continue
                if model not in best or option < best[model]:
                    best[model] = option
                    changed = True
    return {model: best[model][2] for model in candidates if model in best}


def linked_to_review(all_models: Iterable | None = None) -> set[type[models.Model]]:
    """Every model linked to `Review` by any chain of relations (foreign keys, one-to-one and
    many-to-many fields, empty or not): what a backup must either hold or exclude with a reason."""
    all_models = list(all_models or apps.get_models(include_auto_created=True))
    linked: set = {Review}
    changed = True
    while changed:
        changed = False
        for model in all_models:
            if model in linked:
                continue
            fields = [*model._meta.fields, *model._meta.many_to_many]  # its own relations
            if any(f.is_relation and f.related_model in linked for f in fields):
                linked.add(model)
                changed = True
    return linked - {Review}


def uncovered_models(all_models: Iterable | None = None) -> list[str]:
    """Models linked to a review that the backup neither holds nor excludes with a reason."""
    all_models = list(all_models or apps.get_models(include_auto_created=True))
    held = set(owner_paths(all_models))
    return sorted(
        _label(m)
        for m in linked_to_review(all_models)
        if m not in held and _label(m) not in EXCLUDED
    )


def backup_models() -> list[type[models.Model]]:
    """`Review` and every model `owner_paths` finds, ordered so that each comes after the
    models its foreign keys point to (a foreign key to its own model is set after the insert)."""
    paths = owner_paths()
    pending = [Review, *sorted(paths, key=_label)]
    ordered: list = []
    while pending:
        ready = [
            m
            for m in pending
            if all(f.related_model is m or f.related_model not in pending for f in _foreign_keys(m))
        ]
        if not ready:
            names = ", ".join(_label(m) for m in pending)
            raise BackupError(f"The models {names} point at each other in a cycle: cannot order.")
        ordered += ready
        pending = [m for m in pending if m not in ready]
    return ordered


def rows_of(model, review: Review, paths: dict | None = None) -> models.QuerySet:
    """The rows of `model` that belong to `review` (`paths`: `owner_paths()`, if at hand)."""
    if model is Review:
        return Review.objects.filter(pk=review.pk)
    paths = paths or owner_paths()
    return model._default_manager.filter(**{paths[model]: review}).order_by("pk")


# --- ids kept inside JSON fields -----------------------------------------------------------------

#: model label → JSON field → how to rewrite it on restore, given the old → new maps. Every
#: JSON field of a backed-up model is either here or in `JSON_WITHOUT_IDS` (a test checks).
IdMaps = dict[str, dict]


def _map_id(maps: IdMaps, label: str, value):
    if isinstance(value, int) and not isinstance(value, bool):
        return maps[label].get(value, value)
    return value


def _dedup_detail(detail, maps: IdMaps):
    if not isinstance(detail, dict):
        return detail
    out = dict(detail)
    for key in ("primary", "detached", "previous_primary"):
        if key in out:
            out[key] = _map_id(maps, "review.record", out[key])
    if isinstance(out.get("moved"), list):
        out["moved"] = [_map_id(maps, "review.record", v) for v in out["moved"]]
    return out


_ITEM_KEY = re.compile(r"^(data|moderator|draft)-(\d+)(?:-(\d+))?$")


def _item_key(key: str, maps: IdMaps) -> str:
    """`data-<outcome>`, `moderator-<moderator>`, `draft-<outcome>-<user>` (analysis.studies)."""
    match = _ITEM_KEY.match(key)
    if not match:
        return key
    kind, first, second = match.groups()
    target = "analysis.moderator" if kind == "moderator" else "analysis.outcome"
    out = f"{kind}-{_map_id(maps, target, int(first))}"
    if second is not None:
        out += f"-{_map_id(maps, 'users', int(second))}"
    return out


def _study_detail(detail, maps: IdMaps):
    if not isinstance(detail, dict):
        return detail
    out = dict(detail)
    if isinstance(out.get("reports"), list):
        out["reports"] = [_map_id(maps, "review.record", v) for v in out["reports"]]
    for key in ("choices", "replaced", "discarded"):
        if isinstance(out.get(key), dict):
            out[key] = {_item_key(k, maps): v for k, v in out[key].items()}
    return out


def _screening_detail(detail, maps: IdMaps):
    if isinstance(detail, dict) and isinstance(detail.get("file"), str):
        return {**detail, "file": maps["files"].get(detail["file"], detail["file"])}
    return detail


JSON_IDS: dict[str, dict[str, Callable]] = {
    # DedupEvent: `primary`, `detached`, `previous_primary` and `moved` are record ids
    "review.dedupevent": {"detail": _dedup_detail},
    # StudyEvent (merge): `reports` are record ids; the keys of `choices`, `replaced` and
    # `discarded` name outcome, moderator and user ids
    "analysis.studyevent": {"detail": _study_detail},
    # ScreeningEvent (retrieve): `file` is the full text's storage name
    "screening.screeningevent": {"detail": _screening_detail},
}

#: the keys of those JSON fields that may hold ids (a row without any is left as it is)
JSON_ID_KEYS = {
    "review.dedupevent": ("primary", "detached", "previous_primary", "moved"),
    "analysis.studyevent": ("reports", "choices", "replaced", "discarded"),
    "screening.screeningevent": ("file",),
}

#: JSON fields that hold no id of a row (labels, usernames, counts, values), copied as they are
JSON_WITHOUT_IDS = {
    "review.review": {"highlight_include", "highlight_exclude"},  # words
    "review.importbatch": {"problems", "column_mapping"},  # {line, message}; field → header
    "review.record": {"authors", "keywords", "raw"},  # the entry as parsed from its file
    "screening.calibrationevent": {"detail"},  # stage, usernames, counts
    "screening.prioritisation": {"stop_figures"},  # the stopping test's numbers
    "screening.reopening": {"cascade"},  # counts, verdicts and a study label
    "analysis.effectdata": {"values"},  # escalc's fields
    "analysis.extractiondraft": {"values"},
    "analysis.extractionevent": {"before", "after"},  # values, moderator names
}


# --- backup --------------------------------------------------------------------------------------


def app_version() -> str:
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as fh:
            return tomllib.load(fh)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _migration_apps(model_list) -> list[str]:
    labels = {m._meta.app_label for m in model_list} | {get_user_model()._meta.app_label}
    return sorted(labels)


def applied_migrations(app_labels: Iterable[str]) -> dict[str, list[str]]:
    applied = MigrationRecorder(connection).applied_migrations()
    return {app: sorted(name for a, name in applied if a == app) for app in app_labels}


def _default(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # microseconds kept (DjangoJSONEncoder cuts them)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot write {type(value).__name__} to a backup")


def _file_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _user_fields(model) -> list:
    user_model = get_user_model()
    return [f for f in _foreign_keys(model) if f.related_model is user_model]


@dataclass
class BackupSummary:
    path: Path
    counts: dict[str, int]
    files: int
    missing_files: list[str]
    users: list[str]
    size: int


def _write_rows(zf: zipfile.ZipFile, member: str, queryset) -> int:
    count = 0
    with zf.open(member, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as out:
        out.write("[")
        chunk: list = []

        def flush():
            nonlocal count
            if not chunk:
                return
            for item in serializers.serialize("python", chunk):
                out.write(",\n" if count else "\n")
                out.write(json.dumps(item, default=_default, ensure_ascii=False))
                count += 1
            chunk.clear()

        for obj in queryset.iterator(chunk_size=CHUNK):
            chunk.append(obj)
            if len(chunk) >= CHUNK:
                flush()
        flush()
        out.write("\n]\n")
    return count


def _copy_file(zf: zipfile.ZipFile, storage, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with storage.open(name, "rb") as src, zf.open(f"files/{name}", "w") as dst:
        while block := src.read(1 << 20):
            digest.update(block)
            size += len(block)
            dst.write(block)
    return digest.hexdigest(), size


def backup_review(review: Review, output: Path) -> BackupSummary:
    """Write `review`'s backup to `output` (through a temporary file in the same folder, renamed
    at the end: a failed backup leaves no half-written file). The rows are read in one
    transaction, so they are one consistent state of the review."""
    output = Path(output)
    model_list = backup_models()
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    os.close(fd)
    try:
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and outermost:
                with connection.cursor() as cursor:  # one snapshot for every query below
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            review = Review.objects.get(pk=review.pk)
            summary = _write_backup(review, model_list, Path(tmp))
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    summary.path, summary.size = output, output.stat().st_size
    return summary


def _write_backup(review: Review, model_list, tmp: Path) -> BackupSummary:
    counts: dict[str, int] = {}
    members: list[dict] = []
    files: dict[str, dict] = {}
    missing: list[str] = []
    user_ids: set[int] = set()
    paths = owner_paths()
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for model in model_list:
            label = _label(model)
            member = f"data/{label}.json"
            rows = rows_of(model, review, paths)
            counts[label] = _write_rows(zf, member, rows)
            members.append({"model": label, "member": member, "count": counts[label]})
            for f in _user_fields(model):
                ids = rows.exclude(**{f.attname: None}).order_by().values_list(f.attname, flat=True)
                user_ids.update(ids.distinct())
            for f in _file_fields(model):
                for name in rows.exclude(**{f.attname: ""}).values_list(f.attname, flat=True):
                    if name in files or name in missing:
                        continue
                    if not f.storage.exists(name):
                        missing.append(name)
                        continue
                    sha256, size = _copy_file(zf, f.storage, name)
                    files[name] = {"member": f"files/{name}", "sha256": sha256, "size": size}
        user_model = get_user_model()
        users = [
            {
                "id": u.pk,
                "username": u.get_username(),
                "email": getattr(u, "email", ""),
                "first_name": getattr(u, "first_name", ""),
                "last_name": getattr(u, "last_name", ""),
            }
            for u in user_model._default_manager.filter(pk__in=user_ids).order_by("pk")
        ]
        zf.writestr("users.json", json.dumps(users, indent=1, ensure_ascii=False))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app_version": app_version(),
            "migrations": applied_migrations(_migration_apps(model_list)),
            "vendor": connection.vendor,
            "created_at": timezone.now().isoformat(),
            "review": {"id": review.pk, "slug": review.slug, "title": review.title},
            "models": members,
            "counts": counts,
            "users": len(users),
            "files": files,
            "missing_files": missing,
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False))
    return BackupSummary(
        path=tmp,
        counts=counts,
        files=len(files),
        missing_files=missing,
        users=[u["username"] for u in users],
        size=0,
    )


# --- restore -------------------------------------------------------------------------------------


@dataclass
class RestoreSummary:
    review: Review
    counts: dict[str, int]
    files: int
    renamed_files: dict[str, str] = field(default_factory=dict)
    users_created: list[str] = field(default_factory=list)
    users_matched: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)


def _open(path: Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file.") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise BackupError(
            f"{path} is not a review backup: not a readable ZIP file ({error})."
        ) from None
    return zf


def _read(zf: zipfile.ZipFile, member: str, path: Path) -> bytes:
    try:
        return zf.read(member)
    except KeyError:
        raise BackupError(f"{path} is incomplete: {member} is missing.") from None
    except (zipfile.BadZipFile, OSError, EOFError, zlib_error()) as error:
        raise BackupError(f"{path} is damaged: {member} cannot be read ({error}).") from None


def zlib_error():
    import zlib

    return zlib.error


def _json(zf: zipfile.ZipFile, member: str, path: Path):
    try:
        return json.loads(_read(zf, member, path))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(f"{path} is damaged: {member} is not valid JSON ({error}).") from None


def read_manifest(zf: zipfile.ZipFile, path: Path) -> dict:
    if "manifest.json" not in zf.namelist():
        raise BackupError(f"{path} is not a review backup: it has no manifest.json.")
    manifest = _json(zf, "manifest.json", path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a review backup (manifest.json names no {FORMAT}).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(
            f"{path} was made by a newer Prisma Workbench (backup format {version}; this site "
            f"reads format {FORMAT_VERSION} and older). Upgrade this site first."
        )
    if problem := _manifest_problem(manifest):
        raise BackupError(f"{path} is damaged: manifest.json {problem}.")
    return manifest


def _manifest_problem(manifest: dict) -> str | None:
    """What is wrong with the manifest's shape, if anything (its values are checked later)."""
    review = manifest.get("review")
    if not isinstance(review, dict) or not isinstance(review.get("slug"), str):
        return "names no review"
    migrations = manifest.get("migrations")
    if not isinstance(migrations, dict) or not all(
        isinstance(names, list) and all(isinstance(n, str) for n in names)
        for names in migrations.values()
    ):
        return "lists no migrations"
    entries = manifest.get("models")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict)
        and isinstance(e.get("model"), str)
        and isinstance(e.get("member"), str)
        and isinstance(e.get("count"), int)
        for e in entries
    ):
        return "lists no models"
    labels = [e["model"] for e in entries]
    if len(set(labels)) != len(labels):
        return "lists a model twice"
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(
        isinstance(i, dict)
        and isinstance(i.get("member"), str)
        and isinstance(i.get("sha256"), str)
        for i in files.values()
    ):
        return "lists its files wrongly"
    if not isinstance(manifest.get("missing_files", []), list):
        return "lists its missing files wrongly"
    return None


def check_migrations(manifest: dict, path: Path) -> None:
    """Refuse a backup whose database schema is not this site's: rows are restored as they were
    written, so the migrations applied where it was made must be exactly those applied here."""
    theirs = manifest.get("migrations") or {}
    ours = applied_migrations(theirs)
    newer = sorted(
        f"{app}.{n}" for app, names in theirs.items() for n in set(names) - set(ours[app])
    )
    older = sorted(
        f"{app}.{n}" for app, names in ours.items() for n in set(names) - set(theirs[app])
    )
    if newer:
        raise BackupError(
            f"{path} was made by a newer version of Prisma Workbench: its migrations "
            f"{', '.join(newer)} are not applied here. Upgrade this site (docs/operations.md, "
            "Upgrading) and run `manage.py migrate`, then restore."
        )
    if older:
        raise BackupError(
            f"{path} was made by an older version of Prisma Workbench: this site has the "
            f"migrations {', '.join(older)}, which it lacks. Restore it on a site of its version "
            f"({manifest.get('app_version')}), upgrade that site, and back the review up again."
        )


def _check_members(zf: zipfile.ZipFile, path: Path) -> None:
    try:
        bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib_error()) as error:
        raise BackupError(f"{path} is damaged: {error}.") from None
    if bad is not None:
        raise BackupError(f"{path} is damaged: {bad} fails its checksum.")


def _new_user(username: str, info: dict):
    user_model = get_user_model()
    user = user_model(**{user_model.USERNAME_FIELD: username})
    for attr in ("email", "first_name", "last_name"):
        if hasattr(user, attr) and isinstance(info.get(attr), str):
            setattr(user, attr, info[attr])
    user.is_active = False
    user.set_unusable_password()
    user.save()
    return user


def _users(users: list, path: Path, summary: RestoreSummary) -> dict[int, int]:
    user_model = get_user_model()
    mapping = {}
    for info in users:
        if not isinstance(info, dict) or not isinstance(info.get("username"), str):
            raise BackupError(f"{path} is damaged: users.json holds an entry without a username.")
        username = info["username"]
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            user = _new_user(username, info)
            summary.users_created.append(username)
        else:
            summary.users_matched.append(username)
        mapping[info["id"]] = user.pk
    return mapping


def _restore_files(zf, manifest, path: Path, saved: list[str], summary: RestoreSummary) -> dict:
    from django.core.files.storage import default_storage

    names = {}
    for name, info in sorted((manifest.get("files") or {}).items()):
        content = _read(zf, info["member"], path)
        if hashlib.sha256(content).hexdigest() != info.get("sha256"):
            raise BackupError(f"{path} is damaged: {info['member']} does not match its SHA-256.")
        try:
            new = default_storage.save(name, ContentFile(content))
        except (SuspiciousFileOperation, ValueError) as error:
            raise BackupError(f"{path}: the file name {name!r} is refused ({error}).") from None
        saved.append(new)
        names[name] = new
        if new != name:
            summary.renamed_files[name] = new
    return names


def _insert(model, objs: list) -> None:
    """Insert `objs` as they are (no auto_now: the times are the backup's), setting their new
    primary keys from the database (RETURNING on PostgreSQL and SQLite)."""
    meta = model._meta
    auto_pk = isinstance(meta.pk, models.AutoField)
    fields = [f for f in meta.local_concrete_fields if not (auto_pk and f.primary_key)]
    if not objs:
        return
    returning = [meta.pk] if auto_pk else None
    manager = model._base_manager
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        for obj in objs:  # pragma: no cover - every supported database returns rows
            (row,) = manager._insert([obj], fields=fields, returning_fields=returning, raw=True)
            obj.pk = row[0]
        return
    size = max(connection.ops.bulk_batch_size(fields, objs), 1)
    for start in range(0, len(objs), size):
        batch = objs[start : start + size]
        # raw=True: values as set (the restored created_at/updated_at), as loaddata does
        rows = manager._insert(batch, fields=fields, returning_fields=returning, raw=True)
        if returning:
            for obj, row in zip(batch, rows, strict=True):
                obj.pk = row[0]


def restore_review(
    path: Path, *, slug: str | None = None, owner: str | None = None
) -> RestoreSummary:
    """Restore the review in the backup at `path` as a new review (under `slug`, else its own),
    all or nothing. `owner`: the username of an account of this site made a lead of it."""
    path = Path(path)
    with _open(path) as zf:
        manifest = read_manifest(zf, path)
        check_migrations(manifest, path)
        _check_members(zf, path)
        new_slug = slug or manifest["review"]["slug"]
        try:
            validate_slug(new_slug)
        except ValidationError:
            raise BackupError(f"--slug {new_slug!r}: use letters, digits, - and _ only.") from None
        if len(new_slug) > Review._meta.get_field("slug").max_length:
            raise BackupError(f"--slug {new_slug!r} is longer than 80 characters.")
        if Review.objects.filter(slug=new_slug).exists():
            raise BackupError(
                f"This site already has a review with the slug {new_slug!r}: restore it as a "
                "copy with --slug NEW."
            )
        owner_user = None
        if owner:
            user_model = get_user_model()
            owner_user = user_model._default_manager.filter(
                **{user_model.USERNAME_FIELD: owner}
            ).first()
            if owner_user is None:
                raise BackupError(f"--owner {owner!r}: no account with that username here.")
        users = _json(zf, "users.json", path)
        saved: list[str] = []
        try:
            with transaction.atomic():
                summary = RestoreSummary(review=None, counts={}, files=0)  # type: ignore[arg-type]
                summary.missing_files = list(manifest.get("missing_files") or [])
                maps: IdMaps = defaultdict(dict)
                maps["users"] = _users(users if isinstance(users, list) else [], path, summary)
                maps["files"] = _restore_files(zf, manifest, path, saved, summary)
                summary.files = len(maps["files"])
                _restore_rows(zf, manifest, path, maps, new_slug, summary)
                review = summary.review
                if owner_user is not None:
                    from review.models import Membership, Role

                    Membership.objects.update_or_create(
                        review=review, user=owner_user, defaults={"role": Role.LEAD}
                    )
        except BaseException as error:
            from django.core.files.storage import default_storage

            for name in saved:
                default_storage.delete(name)
            if isinstance(error, DatabaseError):
                raise BackupError(
                    f"{path} could not be restored: the database refused a row "
                    f"({_first_line(error)}). Nothing was written."
                ) from error
            raise
    return summary


def _first_line(error: Exception) -> str:
    """The database's message without the row it quotes (PostgreSQL's DETAIL line)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _restore_rows(zf, manifest, path: Path, maps: IdMaps, new_slug: str, summary) -> None:
    known = {_label(m): m for m in backup_models()}
    entries = manifest.get("models")
    if not isinstance(entries, list) or not entries or entries[0].get("model") != "review.review":
        raise BackupError(f"{path} is damaged: manifest.json lists no review.")
    for entry in entries:
        if entry.get("model") not in known:
            raise BackupError(
                f"{path} holds rows of {entry.get('model')!r}, a model this site does not have."
            )
    with_json: dict[str, list] = defaultdict(list)  # label → rows with ids in JSON fields
    deferred: list[tuple] = []  # (model, field, row, old target pk): references to its own model
    for entry in entries:
        label, member = entry["model"], entry["member"]
        model = known[label]
        data = _json(zf, member, path)
        if not isinstance(data, list) or len(data) != entry.get("count"):
            n = len(data) if isinstance(data, list) else "no"
            raise BackupError(
                f"{path} is damaged: {member} holds {n} rows, "
                f"manifest.json says {entry.get('count')}."
            )
        if model is Review and len(data) != 1:
            raise BackupError(f"{path} is damaged: {member} holds {len(data)} reviews, not one.")
        # in chunks: only the old → new ids stay in memory (and the few rows changed later)
        for start in range(0, len(data), CHUNK):
            objs = _deserialize(data[start : start + CHUNK], label, member, path)
            olds = []
            for obj in objs:
                olds.append(obj.pk)
                _remap(obj, model, label, maps, deferred, path, member)
                if isinstance(model._meta.pk, models.AutoField):
                    obj.pk = None
                if model is Review:
                    obj.slug = new_slug
                    summary.review = obj
            try:
                _insert(model, objs)
            except DatabaseError as error:
                raise BackupError(
                    f"{path} could not be restored: the database refused a row of {member} "
                    f"({_first_line(error)}). Nothing was written."
                ) from error
            maps[label].update(zip(olds, (o.pk for o in objs), strict=True))
            if label in JSON_IDS:
                with_json[label] += [o for o in objs if _holds_ids(label, o)]
        summary.counts[label] = len(data)
        del data
    updates = defaultdict(list)
    for model, f, obj, old_target in deferred:
        target = maps[_label(model)].get(old_target)
        if target is None:
            raise BackupError(
                f"{path} is damaged: {_label(model)} {f.name} refers to a row not in the backup."
            )
        setattr(obj, f.attname, target)
        updates[model, f.name].append(obj)
    for (model, name), objs in updates.items():
        model._base_manager.bulk_update(objs, [name], batch_size=500)
    # ids inside JSON fields, once every row has its new id (an event may name rows of a model
    # restored after it)
    for label, objs in with_json.items():
        for name, rewrite in JSON_IDS[label].items():
            changed = []
            for obj in objs:
                value = getattr(obj, name)
                new = rewrite(value, maps)
                if new != value:
                    setattr(obj, name, new)
                    changed.append(obj)
            known[label]._base_manager.bulk_update(changed, [name], batch_size=500)


def _deserialize(rows: list, label: str, member: str, path: Path) -> list:
    objs = []
    try:
        for item in serializers.deserialize("python", rows, handle_forward_references=False):
            if _label(type(item.object)) != label:
                raise BackupError(f"{path} is damaged: {member} holds a row of another model.")
            objs.append(item.object)
    except serializers.base.DeserializationError as error:
        raise BackupError(f"{path} is damaged: {member}: {error}") from None
    return objs


def _holds_ids(label: str, obj) -> bool:
    """Whether a row's JSON fields name anything `JSON_IDS` rewrites (kept until the end)."""
    return any(
        isinstance(value := getattr(obj, name), dict)
        and any(value.get(key) not in (None, "", [], {}) for key in JSON_ID_KEYS[label])
        for name in JSON_IDS[label]
    )


def _remap(obj, model, label, maps: IdMaps, deferred: list, path: Path, member: str) -> None:
    user_model = get_user_model()
    for f in _foreign_keys(model):
        old = getattr(obj, f.attname)
        if old is None:
            continue
        target = f.related_model
        if target is model and not f.primary_key:
            setattr(obj, f.attname, None)
            deferred.append((model, f, obj, old))
            continue
        key = "users" if target is user_model else _label(target)
        if key not in maps:
            raise BackupError(
                f"{path}: {member} points at {_label(target)}, "
                "which is not part of a review backup."
            )
        new = maps[key].get(old)
        if new is None:
            raise BackupError(
                f"{path} is damaged: a row of {member} refers to {_label(target)} {old}, "
                "which is not in the backup."
            )
        setattr(obj, f.attname, new)
    for f in _file_fields(model):
        name = getattr(obj, f.attname)
        if name:
            # a file missing when the backup was made is not restored: the row names no file
            # (an old name could be taken here by another review's file)
            setattr(obj, f.attname, maps["files"].get(str(name), ""))
