"""How fast Partsite moves big CAD files beside a minimal server moving the same bytes, and its memory.

For each storage in BENCH_STORAGE (local disk, S3 on moto's server) Partsite runs under
gunicorn (one worker) and takes generated STEP files of BENCH_SIZES_MB through the simple
upload, the direct (resumable) upload and the download, each interleaved with its reference
over the same bytes from the same HTTP client:

- local disk: bench/minimal_server.py, which only hashes a PUT's body (SHA-256, as every
  upload must be) and writes it into a folder on the same file system, and sends a file
  back with sendfile();
- S3: boto3's multipart upload of the file to the same bucket (8 MiB parts, two at a time,
  as Partsite sends it), and a GET of the same object through a presigned URL (where
  Partsite's download redirects).

Before every sample, of either kind: the objects the previous one stored are deleted, every
dirty page is written back (sync), and the file about to be read is read once, so that both
start with the same page cache and no pending write-back. An upload sample ends when what it
wrote is on disk (a sync, timed): a write the page cache has only taken in is not stored yet,
and how much of it the kernel writes back during the sample is luck that made the ratio swing
several-fold between samples on this machine (0.16-1.25). On local disk an upload sample,
of either kind, is timed right after an untimed one of its own kind (after_the_same). A
sample of a small file is several transfers in a row, as many as the reference makes in a
second (in two for a download), so that no sample is too short to measure.
"""

import math
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from bench import machine
from bench.harness import QUICK, TRANSFER_SAMPLES, Figure, Section, Target, envlist, interleaved, markdown_table
from bench.servers import MinimalServer, MotoServer
from bench.site import MIB, Site, flush_writes, generate_step, pin_apart, warm

STORAGES = envlist("BENCH_STORAGE", "local,s3")
SIZES_MB = [int(size) for size in envlist("BENCH_SIZES_MB", "50" if QUICK else "50,200,500")]
RATIO_TARGET = 0.8
MIN_SAMPLE_SECONDS = 1.0
# A download from the page cache runs at memory speed, and one download of the same 200 MB file took anywhere
# from 1,330 to 2,470 MB/s: a download sample lasts twice as long as an upload's, to even that out within it.
MIN_DOWNLOAD_SAMPLE_SECONDS = 2.0
PEAK_RSS_TARGET_MB = 150
RAM_FOLDER = Path("/dev/shm")


def timed(action):
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def check(condition, problem):
    if not condition:
        raise SystemExit(f"Benchmark stopped: {problem}.")


class LocalReference:
    """The minimal server, writing into and reading from a folder beside Partsite's storage."""

    upload_how = "the same client's HTTP PUT to a minimal server hashing (SHA-256) and writing into the same file system"
    download_how = "the same client's HTTP GET from a minimal server sending the file with sendfile()"

    def __init__(self, server):
        self.server = server

    def upload(self, path, sha256):
        stored = self.server.http.send("PUT", f"/upload-{uuid.uuid4().hex}.step", path, expect=(201,))
        check(stored.decode() == sha256, "the minimal server stored other bytes")

    def keep_for_download(self, path):
        name = f"download-{uuid.uuid4().hex}.step"
        self.server.http.send("PUT", f"/{name}", path, expect=(201,))
        return f"{self.server.http.base}/{name}"


class LocalObjects:
    """The files in Partsite's data dir (the minimal server's folder is inside it), but for the database.

    Where the storage keeps its files is Partsite's business; whatever a sample added to the
    data dir is its files (and its queued conversion messages, which no worker here reads).
    """

    def __init__(self, data_dir):
        self.data_dir = data_dir

    def snapshot(self):
        return {path for path in self.data_dir.rglob("*") if path.is_file() and ".sqlite3" not in path.name}

    def delete(self, paths):
        for path in paths:
            path.unlink(missing_ok=True)


class S3Reference:
    upload_how = "boto3's multipart upload of the same file to the same bucket (8 MiB parts, two at a time)"
    download_how = "the same client's GET of the same object through a presigned URL"

    def __init__(self, moto):
        self.moto = moto

    def upload(self, path, sha256):
        # S3 answers with no SHA-256 to check (a multipart ETag is not a digest of the file); the
        # figure's own uploads are checked, and the reference's bytes are boto3's own.
        from boto3.s3.transfer import TransferConfig

        self.moto.client.upload_file(
            str(path), self.moto.bucket, f"reference/{uuid.uuid4().hex}.step",
            Config=TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=2),
        )

    def keep_for_download(self, path):
        key = f"reference/download-{uuid.uuid4().hex}.step"
        self.moto.client.upload_file(str(path), self.moto.bucket, key)
        return self.moto.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.moto.bucket, "Key": key}, ExpiresIn=3600)


class S3Objects:
    def __init__(self, moto):
        self.moto = moto

    def snapshot(self):
        return self.moto.keys()

    def delete(self, keys):
        self.moto.delete(keys)


def measure(section, site, storage, files, reference, objects):
    warm_up_path, warm_up_sha256 = files["warm-up"]
    site.upload_simple(warm_up_path)
    revision, _ = site.upload_direct(warm_up_path, warm_up_sha256)
    site.http.drain(f"/api/revisions/{revision['id']}/download/")
    rows = []
    for size_mb in SIZES_MB:
        path, sha256 = files[size_mb]
        before = objects.snapshot()

        def settle(path=path, before=before):
            objects.delete(objects.snapshot() - before)
            flush_writes()
            warm(path)

        # A sample shorter than a second is mostly scheduling noise: a sample of a small file is as
        # many transfers, of either kind, as the reference (the faster) makes in a second.
        site.upload_simple(path)
        once = timed(lambda path=path, sha256=sha256: reference.upload(path, sha256))
        repeats = max(1, math.ceil(MIN_SAMPLE_SECONDS / once))

        def simple(path=path, size_mb=size_mb, sha256=sha256, repeats=repeats):
            part_ids = [site.new_part() for _ in range(repeats)]
            revisions = []
            seconds = timed(lambda: (revisions.extend(site.upload_simple(path, part_id) for part_id in part_ids),
                                     flush_writes()))
            check(all(revision["sha256"] == sha256 for revision in revisions), "the simple upload stored other bytes")
            return repeats * size_mb / seconds

        def direct(path=path, size_mb=size_mb, sha256=sha256, repeats=repeats):
            part_ids = [site.new_part() for _ in range(repeats)]
            outcomes = []
            seconds = timed(lambda: (outcomes.extend(site.upload_direct(path, sha256, part_id) for part_id in part_ids),
                                     flush_writes()))
            check(all(revision["sha256"] == sha256 for revision, _ in outcomes), "the direct upload stored other bytes")
            upload = outcomes[0][1]
            rows.append((storage, size_mb, len(upload["parts"]), upload["part_size"] // MIB,
                         where_parts_went(site, upload)))
            return repeats * size_mb / seconds

        def upload_reference(path=path, size_mb=size_mb, sha256=sha256, repeats=repeats):
            return repeats * size_mb / timed(
                lambda: ([reference.upload(path, sha256) for _ in range(repeats)], flush_writes()))

        for name, action in (("simple", simple), ("direct (resumable, in parts)", direct)):
            if storage == "local":  # the local reference's speed depends on what ran before it
                action, their_action = after_the_same(action, settle), after_the_same(upload_reference, settle)
                mine, theirs = interleaved(action, their_action, settle, TRANSFER_SAMPLES, swap=False)
            else:
                mine, theirs = interleaved(action, upload_reference, settle, TRANSFER_SAMPLES)
            section.add(Figure(
                f"Upload {size_mb} MB, {name}, {storage}", "MB/s", mine, reference.upload_how, theirs,
                Target("ratio", ">=", RATIO_TARGET),
                note=("includes completing: each part appended to the file, hashed on the way and synced to disk; "
                      if name.startswith("direct") else "") + f"{repeats} uploads a sample, until written to disk",
            ))

        kept = site.upload_simple(path)
        check(kept["sha256"] == sha256, "the upload to download stored other bytes")
        partsite_url = f"/api/revisions/{kept['id']}/download/"
        check(site.http.drain(partsite_url, digest=True) == (kept["size"], sha256), "the download differs")
        reference_url = reference.keep_for_download(path)
        check(site.http.drain(reference_url, digest=True) == (kept["size"], sha256), "the reference differs")

        def settle_download():
            flush_writes()
            site.http.drain(partsite_url)
            site.http.drain(reference_url)

        # A download from the page cache takes a few hundredths of a second: each sample is as many
        # downloads, of either kind, as the reference makes in MIN_DOWNLOAD_SAMPLE_SECONDS.
        repeats = max(1, math.ceil(
            MIN_DOWNLOAD_SAMPLE_SECONDS / timed(lambda url=reference_url: site.http.drain(url))))

        def downloads(url, size_mb=size_mb, repeats=repeats):
            return repeats * size_mb / timed(lambda: [site.http.drain(url) for _ in range(repeats)])

        mine, theirs = interleaved(lambda: downloads(partsite_url), lambda: downloads(reference_url), settle_download,
                                   TRANSFER_SAMPLES)
        section.add(Figure(
            f"Download {size_mb} MB, {storage}", "MB/s", mine, reference.download_how, theirs,
            Target("ratio", ">=", RATIO_TARGET),
            note=("a 302 to a presigned URL, then the object from storage" if storage == "s3"
                  else "the stored file sent by gunicorn with sendfile()") + f"; {repeats} downloads a sample",
        ))
        objects.delete(objects.snapshot() - before)
    peak = site.peak_rss_mb()
    section.add(Figure(
        f"Web worker's peak memory (VmHWM) after every transfer above, {storage}", "MB", [peak],
        target=Target("figure", "<", PEAK_RSS_TARGET_MB),
        note="the most the worker ever held resident, so one figure for the whole run",
    ))
    return rows


def after_the_same(action, settle):
    """The action timed right after the same action, untimed, and a settle (the samples' warm-up).

    On local disk a minimal server's PUT ran about 750 MB/s right after another one and about 500
    (440-640) right after one of Partsite's uploads, which took turns with it, with the same
    settle between: its figure depended on what ran before it (bench/NOTES.md, Page faults).
    Each sample of either kind now follows one of its own kind, as on a server that keeps
    receiving files."""
    def warmed():
        action()
        settle()
        return action()
    return warmed


def scratch_folder(sizes_mb):
    """Where the files, the sites' data and moto's spooled objects go: BENCH_TRANSFERS_DIR, else memory.

    On a virtual machine's disk the same 200 MB PUT to the minimal server took 321 to 951 MB/s from
    one sample to the next, as the disk happened to run: the ratios moved with the disk, not with
    the code. In a RAM file system (/dev/shm, when it has room for the files three times over and
    2 GiB to spare) the figures are the software's: what Partsite does to the bytes beside what a
    minimal server does. What a disk costs on top (the direct upload's sync of each part as it is
    appended) is then not in them; BENCH_TRANSFERS_DIR=/var/tmp measures on disk.
    """
    chosen = os.environ.get("BENCH_TRANSFERS_DIR")
    if chosen:
        return Path(chosen)
    room_needed = 3 * sum(sizes_mb) * MIB + 2 * 1024 * MIB
    if RAM_FOLDER.is_dir() and os.access(RAM_FOLDER, os.W_OK) and shutil.disk_usage(RAM_FOLDER).free > room_needed:
        return RAM_FOLDER
    return Path(tempfile.gettempdir())


def where_parts_went(site, upload):
    to_partsite = sum(part["url"].startswith(site.base) or part["url"].startswith("/") for part in upload["parts"])
    if to_partsite == len(upload["parts"]):
        return "all to Partsite"
    return "all straight to storage" if not to_partsite else f"{to_partsite} to Partsite"


def main():
    section = Section("transfers", "Uploads and downloads")
    max_upload_mb = max(500, *SIZES_MB)
    unknown = set(STORAGES) - {"local", "s3"}
    if unknown:
        raise SystemExit(f"BENCH_STORAGE may name local and s3, not {', '.join(sorted(unknown))}")
    parts_rows = []
    folder = scratch_folder(SIZES_MB)
    section.setup["files"] = f"{machine.file_system(folder)} (BENCH_TRANSFERS_DIR)"
    section.setup["samples"] = TRANSFER_SAMPLES
    print(f"Files on {section.setup['files']}; {TRANSFER_SAMPLES} samples a figure", flush=True)
    # moto spools what it stores beyond a few MB into temporary files: into the same folder.
    os.environ["TMPDIR"] = str(folder)
    with tempfile.TemporaryDirectory(prefix="partsite-bench-transfers-", dir=folder) as scratch:
        scratch = Path(scratch)
        print(f"Generating STEP files of {', '.join(map(str, SIZES_MB))} MB ...", flush=True)
        files = {"warm-up": (scratch / "warm-up.step", generate_step(scratch / "warm-up.step", 1))}
        for size_mb in SIZES_MB:
            path = scratch / f"bench-{size_mb}mb.step"
            files[size_mb] = (path, generate_step(path, size_mb))
        for storage in STORAGES:
            if storage == "local":
                site = Site(scratch / "local", max_upload_mb=max_upload_mb)
                with site, MinimalServer(scratch / "local" / "minimal", site.data_dir) as server:
                    site.setup["cores"] = pin_apart([site.process.pid, server.process.pid])
                    print(f"Local disk: {site.setup}", flush=True)
                    section.setup["local"] = site.setup
                    objects = LocalObjects(site.data_dir)
                    parts_rows += measure(section, site, "local", files, LocalReference(server), objects)
            else:
                with MotoServer() as moto:
                    site = Site(scratch / "s3", max_upload_mb=max_upload_mb, storage_env=moto.env())
                    with site:
                        site.setup["cores"] = pin_apart([site.process.pid, moto.process.pid])
                        print(f"S3: {site.setup}", flush=True)
                        section.setup["s3"] = site.setup
                        parts_rows += measure(section, site, "s3", files, S3Reference(moto), S3Objects(moto))
    section.tables.append(markdown_table(
        ("Direct upload", "Size (MB)", "Parts", "Part size (MiB)", "Where the parts went"),
        sorted({(storage, size, parts, part_size, where) for storage, size, parts, part_size, where in parts_rows}),
        numeric={1, 2, 3},
    ))
    section.notes = (
        "Each upload is a new revision of a new part; the timed part is the request (for a direct upload: starting "
        "it, every part and completing it) from the first byte sent to the answer. Downloads are read and thrown "
        "away; an untimed download first checks the SHA-256 of each. s3 is moto's server on this machine, so its "
        "speeds are moto's, not a real S3's; the references pay them too."
    )
    section.save()


if __name__ == "__main__":
    main()
