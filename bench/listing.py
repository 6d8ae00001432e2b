"""List and search latency on PostgreSQL with 100,000 parts and 300,000 revisions, 1 and 16 clients.

Seeds BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/partsite_bench,
created when missing; seeded once with INSERT ... SELECT from generate_series, and reused
while it holds the same numbers of rows), starts Partsite under gunicorn with the
production defaults (2 workers of 4 threads) and asks for pages of 50 over HTTP, for each
kind of request (the parts list filtered, searched, both; the revisions list filtered and
searched): first one client at a time, then 16 clients at once. One sample is a batch of
requests of one kind (BENCH_LISTING_REQUESTS with one client, BENCH_LISTING_SECONDS with
16); the kinds take turns, batch by batch, so that each meets the same machine. A
figure is the median of the batches' p99 (and p50), with their spread.
Skipped, saying why, when no PostgreSQL answers. BENCH_QUICK=1: 10,000 parts, smaller batches.
"""

import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg

from bench.harness import QUICK, SAMPLES, Figure, Section, Target, markdown_table, percentile, spread
from bench.site import Site, without_password

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/partsite_bench")
PARTS = 10_000 if QUICK else 100_000
REVISIONS_PER_PART = 3  # two STEP revisions and a drawing
# p99 of a batch of 100 is its second slowest request.
REQUESTS_ONE_CLIENT = int(os.environ.get("BENCH_LISTING_REQUESTS", 50 if QUICK else 100))
CLIENTS = 16
SECONDS_MANY_CLIENTS = float(os.environ.get("BENCH_LISTING_SECONDS", 2 if QUICK else 5))
P99_TARGET_MS = 50
PAGE = 50
FABRICATORS = 20

# Each kind of request cycles through these so that no single row set stays hot.
SEARCHES = ["bracket", "P-0123", "aluminium drivetrain", "00042", "gearbox plate", "fab07", "spacer 17"]
REVISION_SEARCHES = ["motor", "P-0123", "bracket_17"]
REQUESTS = {
    "parts, filter (category=cnc)": lambda i: ("/api/parts/", {"category": "cnc"}),
    "parts, search": lambda i: ("/api/parts/", {"search": SEARCHES[i % len(SEARCHES)]}),
    "parts, filter and search": lambda i: (
        "/api/parts/",
        {"category": ("cnc", "hand", "review", "completed")[i % 4], "search": SEARCHES[i % len(SEARCHES)]},
    ),
    "revisions, filter (kind=step)": lambda i: ("/api/revisions/", {"kind": "step"}),
    "revisions, search": lambda i: ("/api/revisions/", {"search": REVISION_SEARCHES[i % len(REVISION_SEARCHES)]}),
}
# The parts list and the revision search (through its trigram index, files migration 0005) are held to
# the target; the revisions' filter is shown beside them without one.
TARGETED = {"parts, filter (category=cnc)", "parts, search", "parts, filter and search", "revisions, search"}


def database_url(name):
    parts = urlsplit(DATABASE_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def ensure_database():
    """Create the benchmark database when missing. Returns PostgreSQL's version, or raises OSError."""
    name = urlsplit(DATABASE_URL).path.lstrip("/")
    try:
        with psycopg.connect(database_url("postgres"), autocommit=True, connect_timeout=5) as admin:
            version = admin.execute("SHOW server_version").fetchone()[0].split()[0]
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                admin.execute(f'CREATE DATABASE "{name}"')
                print(f"Created database {name}.", flush=True)
    except psycopg.OperationalError as error:
        raise OSError(str(error).strip().splitlines()[0]) from error
    return version


SEED_SQL = f"""
TRUNCATE parts_part, files_revision, files_upload, parts_partevent, audit_fileaccess RESTART IDENTITY CASCADE;
DELETE FROM auth_user WHERE username LIKE 'fab%%';
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT '!', false, 'fab' || lpad(n::text, 2, '0'), '', '', '', false, true, now()
FROM generate_series(1, {FABRICATORS}) n;
CREATE TEMP TABLE fabricator AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM auth_user
WHERE username LIKE 'fab%%';
INSERT INTO parts_part (part_number, name, type, material, material_thickness, subsystem, amount, notes, onshape_url,
    status, assignee_id, claimed_at, reviewer_id, reviewed_at, storage_location, completed_at, completed_incorrectly,
    built_sha256, created_by_id, created_at, updated_at)
SELECT 'P-' || lpad(i::text, 6, '0'),
    (ARRAY['Bracket','Plate','Spacer','Gearbox plate','Shaft','Gusset','Motor mount','Bumper rail','Arm','Hub'])
        [1 + i % 10] || ' ' || (i % 100),
    (ARRAY['cnc','cnc','hand','misc'])[1 + i % 4],
    (ARRAY['6061 aluminium','7075 aluminium','Polycarbonate','Steel','Delrin'])[1 + i % 5], '6 mm',
    (ARRAY['Drivetrain','Intake','Elevator','Climber','Electrical','Chassis'])[1 + i % 6],
    1 + i % 4, CASE WHEN i % 7 = 0 THEN 'Deburr all edges; chamfer the holes' ELSE '' END, '',
    (ARRAY['pending','reviewed','in_progress','already_started','completed','completed','retired'])[1 + i % 7],
    CASE WHEN i % 7 IN (2, 4, 5) THEN (SELECT id FROM fabricator WHERE n = i % {FABRICATORS}) END,
    CASE WHEN i % 7 IN (2, 4, 5) THEN now() END,
    NULL, CASE WHEN i % 7 <> 0 THEN now() END, '', CASE WHEN i % 7 IN (4, 5) THEN now() END, false, '',
    (SELECT id FROM fabricator WHERE n = (i * 7) % {FABRICATORS}),
    now() - make_interval(mins => i), now() - make_interval(mins => i)
FROM generate_series(1, %(parts)s) i;
INSERT INTO files_revision (part_id, kind, number, filename, description, size, sha256, content_type, storage_key,
    uploaded_by_id, uploaded_at, schema, file_schema, originating_system, preprocessor, author, organization,
    file_timestamp, product_names, conversion_status, conversion_error, conversion_attempts, glb_key, glb_sha256,
    preview_key, preview_error, onshape_document_id, onshape_element_id, onshape_microversion_id, onshape_wvm,
    onshape_wvm_id, scan_status, scan_attempts, scan_error, scan_signature)
SELECT p.id, CASE WHEN r < 3 THEN 'step' ELSE 'drawing' END, CASE WHEN r < 3 THEN r ELSE 1 END,
    lower(replace(split_part(p.name, ' ', 1), ' ', '_')) || '_' || p.id || CASE WHEN r < 3 THEN '.step' ELSE '.pdf' END,
    CASE WHEN r = 2 THEN 'Holes moved' ELSE '' END, 100000 + p.id, md5(p.id || '-' || r) || md5(r || '-' || p.id),
    CASE WHEN r < 3 THEN 'model/step' ELSE 'application/pdf' END,
    'revisions/' || md5(p.id || '/' || r) || CASE WHEN r < 3 THEN '.step' ELSE '.pdf' END,
    p.created_by_id, p.created_at + make_interval(secs => r), CASE WHEN r < 3 THEN 'AP214' ELSE '' END, '', '', '',
    '', '', '', CASE WHEN r < 3 THEN jsonb_build_array(p.name) ELSE '[]'::jsonb END,
    CASE WHEN r < 3 THEN 'ready' ELSE 'none' END, '', CASE WHEN r < 3 THEN 1 ELSE 0 END, '', '',
    CASE WHEN r < 3 THEN 'previews/' || md5('preview-' || p.id || '-' || r) || '.png' ELSE '' END, '',
    '', '', '', '', '', 'not_scanned', 0, '', ''
FROM parts_part p, generate_series(1, 3) r;
UPDATE parts_part p SET approved_revision_id = r.id FROM files_revision r
WHERE r.part_id = p.id AND r.kind = 'step' AND r.number = 1 AND p.status NOT IN ('pending', 'retired');
UPDATE parts_part p SET built_revision_id = r.id, built_sha256 = r.sha256 FROM files_revision r
WHERE r.part_id = p.id AND r.kind = 'step' AND r.number = 2 AND p.status = 'completed';
"""


# A column the seed does not name, added by a later migration with Django's default (blank=True: '', 0,
# false), takes that value here too, as in the migration that added it; the seed then still runs.
BLANKS = {"character varying": "''", "text": "''", "smallint": "0", "integer": "0", "bigint": "0",
          "boolean": "false"}


def blank_by_default(connection):
    """Give the NOT NULL columns without a default that the seed's INSERTs leave out an empty default."""
    named = {table: {column.strip() for column in columns.split(",")}
             for table, columns in re.findall(r"INSERT INTO (\w+) \(([^)]*)\)", SEED_SQL)}
    columns = connection.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name IN ('parts_part', 'files_revision') AND is_nullable = 'NO' AND "
        "column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER'"
    ).fetchall()
    blanks = [(table, column, kind) for table, column, kind in columns
              if kind in BLANKS and column not in named.get(table, ())]
    for table, column, kind in blanks:
        connection.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DEFAULT {BLANKS[kind]}')
    return blanks


def seed():
    """Fill the database unless it already holds exactly what this benchmark needs."""
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM parts_part), (SELECT count(*) FROM files_revision)"
        ).fetchone()
        if counts == (PARTS, PARTS * REVISIONS_PER_PART):
            print(f"Reusing the {PARTS:,} parts and {counts[1]:,} revisions already there.", flush=True)
            return
        print(f"Seeding {PARTS:,} parts and {PARTS * REVISIONS_PER_PART:,} revisions ...", flush=True)
        started = time.perf_counter()
        with connection.transaction():
            blanks = blank_by_default(connection)
            connection.execute(SEED_SQL.replace("%(parts)s", str(PARTS)).replace("%%", "%"))
        # Once committed: PostgreSQL alters no table with deferred foreign-key checks still pending.
        for table, column, _ in blanks:
            connection.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" DROP DEFAULT')
        connection.execute("VACUUM ANALYZE")
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def timed_get(site, kind, index):
    path, params = REQUESTS[kind](index)
    started = time.perf_counter()
    body = site.http.json("GET", f"{path}?{urlencode({**params, 'limit': PAGE})}", expect=(200,))
    return (time.perf_counter() - started) * 1000, len(body["results"])


def one_client(site, kind):
    """One batch: REQUESTS_ONE_CLIENT requests one after another. Returns (latencies in ms, rows a page)."""
    latencies, rows = [], []
    for index in range(REQUESTS_ONE_CLIENT):
        milliseconds, count = timed_get(site, kind, index)
        latencies.append(milliseconds)
        rows.append(count)
    return latencies, rows


def many_clients(site, kind):
    """One batch: CLIENTS threads asking for pages of `kind` for SECONDS_MANY_CLIENTS. Returns (latencies, seconds)."""
    deadline = time.perf_counter() + SECONDS_MANY_CLIENTS

    def client(number):
        latencies, index = [], number
        while time.perf_counter() < deadline:
            latencies.append(timed_get(site, kind, index)[0])
            index += 1
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = [value for values in pool.map(client, range(CLIENTS)) for value in values]
    return latencies, time.perf_counter() - started


def main():
    section = Section("listing", "List and search on PostgreSQL")
    try:
        version = ensure_database()
    except OSError as error:
        section.skip(f"no PostgreSQL at {without_password(DATABASE_URL)} ({error}); set BENCH_DATABASE_URL.")
        return
    section.versions = {"PostgreSQL": version}
    env = {"DATABASE_CONN_MAX_AGE": "600"}
    with tempfile.TemporaryDirectory(prefix="partsite-bench-listing-") as scratch:
        site = Site(Path(scratch), env, workers=2, threads=4, database_url=DATABASE_URL)
        site.manage("migrate", "--noinput")
        seed()
        single = {kind: {"p50": [], "p99": [], "rows": []} for kind in REQUESTS}
        loaded = {kind: {"p50": [], "p99": [], "per_second": []} for kind in REQUESTS}
        with site:
            section.setup = {**site.setup, "data": f"{PARTS:,} parts, {PARTS * REVISIONS_PER_PART:,} revisions"}
            print(f"Partsite: {site.setup}; pages of {PAGE}", flush=True)
            for kind in REQUESTS:  # every worker's code paths and PostgreSQL's caches, before timing
                for index in range(2 * len(SEARCHES)):
                    timed_get(site, kind, index)
            for round_number in range(SAMPLES):
                for kind in REQUESTS:
                    latencies, rows = one_client(site, kind)
                    single[kind]["p50"].append(percentile(latencies, 0.5))
                    single[kind]["p99"].append(percentile(latencies, 0.99))
                    single[kind]["rows"] += rows
                for kind in REQUESTS:
                    latencies, seconds = many_clients(site, kind)
                    loaded[kind]["p50"].append(percentile(latencies, 0.5))
                    loaded[kind]["p99"].append(percentile(latencies, 0.99))
                    loaded[kind]["per_second"].append(len(latencies) / seconds)
                print(f"  round {round_number + 1} of {SAMPLES} done", flush=True)

    for kind in REQUESTS:
        section.add(Figure(
            f"p99 of a page of {PAGE}, 1 client: {kind}", "ms", single[kind]["p99"], decimals=1,
            target=Target("figure", "<", P99_TARGET_MS) if kind in TARGETED else None,
        ))
    for kind in REQUESTS:
        section.add(Figure(f"p99 of a page of {PAGE}, {CLIENTS} clients: {kind}", "ms", loaded[kind]["p99"]))
    section.tables.append(markdown_table(
        ("Request", "Rows a page", "1 client: p50 (ms)", "1 client: p99 (ms)", f"{CLIENTS} clients: p50 (ms)",
         f"{CLIENTS} clients: p99 (ms)", f"{CLIENTS} clients: requests/s"),
        [(kind, f"{sum(single[kind]['rows']) / len(single[kind]['rows']):.0f}", spread(single[kind]["p50"], 1),
          spread(single[kind]["p99"], 1), spread(loaded[kind]["p50"]), spread(loaded[kind]["p99"]),
          spread(loaded[kind]["per_second"])) for kind in REQUESTS],
        numeric={1, 2, 3, 4, 5, 6},
    ))
    section.notes = (
        f"{PARTS:,} parts and {PARTS * REVISIONS_PER_PART:,} revisions (two STEP, one drawing per part) on "
        f"PostgreSQL {version}; Partsite under gunicorn with 2 workers × 4 threads (the defaults) and "
        f"DATABASE_CONN_MAX_AGE=600; the clients run on the same machine. Every request asks for a page of {PAGE} "
        f"with an API key; searches cycle through {', '.join(repr(s) for s in SEARCHES)} (parts) and "
        f"{', '.join(repr(s) for s in REVISION_SEARCHES)} (revisions). One sample: {REQUESTS_ONE_CLIENT} requests "
        f"one after another, or {CLIENTS} clients for {SECONDS_MANY_CLIENTS:g} s; p99 is the nearest-rank "
        "percentile of the batch. The parts list and the revision search have a target (p99 < 50 ms with one "
        "client); the revisions' filter is shown beside them."
    )
    section.save()


if __name__ == "__main__":
    main()
