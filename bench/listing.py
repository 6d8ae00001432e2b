"""List and search latency on PostgreSQL with 100,000 parts and 300,000 revisions.

Seeds BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/partsite_bench,
created when missing; seeded once with INSERT ... SELECT from generate_series, and reused
while it holds the same numbers of rows), starts Partsite under gunicorn with the
production defaults (2 workers of 4 threads), and asks for pages of 50 over HTTP: first
one client at a time (p50, p99), then 16 clients at once (throughput, p50, p99).
Skips with a message when no PostgreSQL answers.

    BENCH_QUICK=1 python bench/listing.py     # 10,000 parts and fewer requests
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.results import QUICK, Finding, Section, markdown_table  # noqa: E402
from bench.run import Site  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/partsite_bench")
PARTS = 10_000 if QUICK else 100_000
REVISIONS_PER_PART = 3  # two STEP revisions and a drawing
REQUESTS_ONE_CLIENT = 60 if QUICK else 300
CLIENTS = 16
CONCURRENT_SECONDS = 5 if QUICK else 20
P99_TARGET_MS = 50
PAGE = 50
FABRICATORS = 20

# Each kind of request cycles through these so that no single row set stays hot.
SEARCHES = ["bracket", "P-0123", "aluminium drivetrain", "00042", "gearbox plate", "fab07", "spacer 17"]
REQUESTS = {
    "parts, filter (category=cnc)": lambda i: ("/api/parts/", {"category": "cnc"}),
    "parts, search": lambda i: ("/api/parts/", {"search": SEARCHES[i % len(SEARCHES)]}),
    "parts, filter and search": lambda i: (
        "/api/parts/",
        {"category": ("cnc", "hand", "review", "completed")[i % 4], "search": SEARCHES[i % len(SEARCHES)]},
    ),
    "revisions, filter (kind=step)": lambda i: ("/api/revisions/", {"kind": "step"}),
    "revisions, search": lambda i: ("/api/revisions/", {"search": ("motor", "P-0123", "bracket_17")[i % 3]}),
}
# The figures held to the target: the parts list (the revisions are shown for completeness).
TARGETED = {"parts, filter (category=cnc)", "parts, search", "parts, filter and search"}


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
    preview_key, preview_error)
SELECT p.id, CASE WHEN r < 3 THEN 'step' ELSE 'drawing' END, CASE WHEN r < 3 THEN r ELSE 1 END,
    lower(replace(split_part(p.name, ' ', 1), ' ', '_')) || '_' || p.id || CASE WHEN r < 3 THEN '.step' ELSE '.pdf' END,
    CASE WHEN r = 2 THEN 'Holes moved' ELSE '' END, 100000 + p.id, md5(p.id || '-' || r) || md5(r || '-' || p.id),
    CASE WHEN r < 3 THEN 'model/step' ELSE 'application/pdf' END,
    'revisions/' || md5(p.id || '/' || r) || CASE WHEN r < 3 THEN '.step' ELSE '.pdf' END,
    p.created_by_id, p.created_at + make_interval(secs => r), CASE WHEN r < 3 THEN 'AP214' ELSE '' END, '', '', '',
    '', '', '', CASE WHEN r < 3 THEN jsonb_build_array(p.name) ELSE '[]'::jsonb END,
    CASE WHEN r < 3 THEN 'ready' ELSE 'none' END, '', CASE WHEN r < 3 THEN 1 ELSE 0 END, '', '',
    CASE WHEN r < 3 THEN 'previews/' || md5('preview-' || p.id || '-' || r) || '.png' ELSE '' END, ''
FROM parts_part p, generate_series(1, 3) r;
UPDATE parts_part p SET approved_revision_id = r.id FROM files_revision r
WHERE r.part_id = p.id AND r.kind = 'step' AND r.number = 1 AND p.status NOT IN ('pending', 'retired');
UPDATE parts_part p SET built_revision_id = r.id, built_sha256 = r.sha256 FROM files_revision r
WHERE r.part_id = p.id AND r.kind = 'step' AND r.number = 2 AND p.status = 'completed';
"""


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
            connection.execute(SEED_SQL.replace("%(parts)s", str(PARTS)).replace("%%", "%"))
        connection.execute("VACUUM ANALYZE")
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed_get(site, kind, index):
    path, params = REQUESTS[kind](index)
    started = time.perf_counter()
    body = site.http.json("GET", f"{path}?{urlencode({**params, 'limit': PAGE})}", expect=(200,))
    return (time.perf_counter() - started) * 1000, len(body["results"])


def one_client(site):
    figures = {}
    for kind in REQUESTS:
        for index in range(len(SEARCHES)):  # warm every worker's code paths and PostgreSQL's caches
            timed_get(site, kind, index)
        latencies, rows = [], []
        for index in range(REQUESTS_ONE_CLIENT):
            milliseconds, count = timed_get(site, kind, index)
            latencies.append(milliseconds)
            rows.append(count)
        figures[kind] = {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
                         "mean": statistics.fmean(latencies), "rows": statistics.fmean(rows)}
        print(f"  1 client   {kind:<32} p50 {figures[kind]['p50']:6.1f} ms  p99 {figures[kind]['p99']:6.1f} ms  "
              f"({figures[kind]['rows']:.0f} rows a page on average)", flush=True)
    return figures


def many_clients(site, kinds):
    """CLIENTS threads, each asking for pages of `kinds` in turn for CONCURRENT_SECONDS."""
    deadline = time.perf_counter() + CONCURRENT_SECONDS

    def client(number):
        latencies, index = [], number
        while time.perf_counter() < deadline:
            latencies.append(timed_get(site, kinds[index % len(kinds)], index)[0])
            index += 1
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = [value for values in pool.map(client, range(CLIENTS)) for value in values]
    seconds = time.perf_counter() - started
    return {"requests": len(latencies), "per_second": len(latencies) / seconds,
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)}


def main():
    section = Section("listing", "List and search on PostgreSQL")
    try:
        version = ensure_database()
    except OSError as error:
        section.skipped = f"no PostgreSQL at {DATABASE_URL} ({error}); set BENCH_DATABASE_URL."
        print(f"List and search benchmark skipped: {section.skipped}")
        section.save()
        return
    section.versions = {"PostgreSQL": version}
    env = {"DATABASE_URL": DATABASE_URL, "DATABASE_CONN_MAX_AGE": "600", "WEB_WORKERS": "2", "WEB_THREADS": "4"}
    with tempfile.TemporaryDirectory(prefix="partsite-bench-list-") as scratch:
        site = Site(Path(scratch), env, lead=f"bench-{uuid.uuid4().hex[:8]}")
        site.manage("migrate", "--noinput")
        seed()
        print("Partsite under gunicorn (2 workers × 4 threads), pages of 50:", flush=True)
        with site:
            single = one_client(site)
            kinds = [kind for kind in REQUESTS if kind in TARGETED]
            loaded = many_clients(site, kinds)
            print(f"  {CLIENTS} clients, {CONCURRENT_SECONDS} s of the parts requests in turn: "
                  f"{loaded['per_second']:.0f} requests/s, p50 {loaded['p50']:.0f} ms, p99 {loaded['p99']:.0f} ms",
                  flush=True)

    worst = max((single[kind] for kind in TARGETED), key=lambda figures: figures["p99"])
    one_client_rate = 1000 / statistics.fmean(single[kind]["mean"] for kind in TARGETED)
    section.findings = [
        Finding(f"List/search a page of {PAGE} parts, 1 client: {kind}",
                f"p50 {single[kind]['p50']:.1f} ms, p99 {single[kind]['p99']:.1f} ms",
                target=f"p99 < {P99_TARGET_MS} ms", met=single[kind]["p99"] < P99_TARGET_MS)
        for kind in REQUESTS if kind in TARGETED
    ]
    section.findings.append(Finding(
        f"List/search parts, {CLIENTS} concurrent clients", f"{loaded['per_second']:.0f} requests/s "
        f"(p50 {loaded['p50']:.0f} ms, p99 {loaded['p99']:.0f} ms)",
        f"{one_client_rate:.0f} requests/s (one client)", loaded["per_second"] / one_client_rate,
    ))
    section.details = "\n".join([
        f"{PARTS:,} parts and {PARTS * REVISIONS_PER_PART:,} revisions (two STEP, one drawing per part) on "
        f"PostgreSQL {version}; Partsite under gunicorn with 2 workers × 4 threads (the defaults) and "
        "DATABASE_CONN_MAX_AGE=600, the client on the same 2 cores. Every request asks for a page of "
        f"{PAGE} (`limit=50`) with an API key; searches cycle through {', '.join(repr(s) for s in SEARCHES)}. "
        f"{REQUESTS_ONE_CLIENT} requests of each kind one after another, then {CLIENTS} clients for "
        f"{CONCURRENT_SECONDS} s asking for the three parts requests in turn.",
        "",
        markdown_table(
            ("Request", "Rows a page", "p50 (ms)", "p99 (ms)", f"p99 < {P99_TARGET_MS} ms"),
            [(kind, f"{figures['rows']:.0f}", f"{figures['p50']:.1f}", f"{figures['p99']:.1f}",
              ("yes" if figures["p99"] < P99_TARGET_MS else "no") + ("" if kind in TARGETED else " (no target)"))
             for kind, figures in single.items()],
            numeric={1, 2, 3},
        ),
        "",
        f"{CLIENTS} concurrent clients: {loaded['requests']} requests in {CONCURRENT_SECONDS} s, "
        f"{loaded['per_second']:.0f} requests/s, p50 {loaded['p50']:.0f} ms, p99 {loaded['p99']:.0f} ms "
        f"(one client: {one_client_rate:.0f} requests/s; slowest single-client p99: {worst['p99']:.1f} ms).",
    ])
    section.save()


if __name__ == "__main__":
    main()
