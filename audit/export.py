"""The audit feed as CSV, streamed: rows are read from the database in chunks as they are sent."""

import csv
import json
from itertools import islice

from django.http import StreamingHttpResponse
from django.utils import timezone

from audit.selectors import with_changes
from partsite.spreadsheets import spreadsheet_text

CSV_COLUMNS = ["at", "kind", "action", "actor", "object_type", "object_id", "summary", "changes", "client_address"]
CHUNK_ROWS = 500


class _Echo:
    """A file whose write() hands the line back, for csv.writer to feed a streaming response."""

    def write(self, value):
        return value


def audit_csv_response(feed):
    filename = f"partsite-audit-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response = StreamingHttpResponse(_lines(feed), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _lines(feed):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    rows = feed.iterator(chunk_size=CHUNK_ROWS)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        for row in with_changes(chunk):
            yield writer.writerow([spreadsheet_text(value) for value in (
                row["occurred_at"].isoformat(), row["kind"], row["action_name"], row["actor_name"],
                row["object_type"], row["object_key"], row["summary"],
                json.dumps(row["changes"], ensure_ascii=False) if row["changes"] is not None else "",
                row["address"],
            )])

