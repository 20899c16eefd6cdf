from rest_framework import serializers

from screening.models import ScreeningDecision, StageResult


class DecisionSerializer(serializers.ModelSerializer):
    """A current vote: who voted what on which record at which stage, and when."""

    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    reason = serializers.CharField(
        source="reason.label", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = ScreeningDecision
        fields = ["id", "record", "stage", "reviewer", "verdict", "reason", "note", "created_at"]


class StageResultSerializer(serializers.ModelSerializer):
    """A record's settled outcome at a stage and how it was settled."""

    reason = serializers.CharField(
        source="reason.label", read_only=True, default=None, allow_null=True
    )
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = StageResult
        fields = [
            "id",
            "record",
            "stage",
            "verdict",
            "method",
            "reason",
            "decided_by",
            "note",
            "created_at",
        ]
