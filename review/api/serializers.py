from rest_framework import serializers

from review.models import ImportBatch, Record, Review, Source


class ReviewSerializer(serializers.ModelSerializer):
    role = serializers.CharField(source="user_role", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "slug",
            "title",
            "question",
            "protocol_registration",
            "title_abstract_mode",
            "title_abstract_blind",
            "full_text_mode",
            "full_text_blind",
            "highlight_include",
            "highlight_exclude",
            "created_at",
            "role",
        ]


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", "name", "arm", "date_searched", "search_string", "notes", "created_at"]


class ImportBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "source",
            "filename",
            "format",
            "sha256",
            "record_count",
            "status",
            "created_at",
        ]


class RecordSerializer(serializers.ModelSerializer):
    source = serializers.IntegerField(source="batch.source_id", read_only=True)

    class Meta:
        model = Record
        fields = [
            "id",
            "number",
            "source",
            "batch",
            "position",
            "title",
            "abstract",
            "authors",
            "year",
            "journal",
            "volume",
            "issue",
            "pages",
            "doi",
            "pmid",
            "url",
            "keywords",
            "language",
            "duplicate_of",
            "removed_reason",
        ]
