from files.models import Revision


def revision_queryset():
    return Revision.objects.select_related("part", "uploaded_by")


def revisions_with_same_bytes_elsewhere(revision):
    """The revisions of other parts that hold exactly these bytes."""
    return revision_queryset().filter(sha256=revision.sha256).exclude(part=revision.part_id)
