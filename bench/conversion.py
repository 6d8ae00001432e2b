"""How long each real STEP file takes to convert, and the converter's peak memory.

Runs every file of the shared corpus (../shared/step/real, or PARTSITE_STEP_CORPUS)
through the same child-process converter the worker uses, beside what MANIFEST.tsv
measured for cascadio alone. Prints figures only.
"""

import csv
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from files.converter import convert_step_to_glb  # noqa: E402  (needs ROOT on the path)

CORPUS = Path(os.environ.get("PARTSITE_STEP_CORPUS", ROOT.parent / "shared" / "step"))


def main():
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        print(f"Conversion benchmark skipped: no STEP corpus at {CORPUS} (set PARTSITE_STEP_CORPUS).")
        return
    with open(manifest, newline="", encoding="utf-8") as tsv:
        rows = list(csv.DictReader(tsv, delimiter="\t"))
    print("\n| File | Size (KB) | Outcome | Triangles | Seconds | Peak RSS (MB) | MANIFEST seconds / MB |")
    print("|---|---:|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as work:
        for row in rows:
            result = convert_step_to_glb(str(CORPUS / "real" / row["file"]), str(Path(work) / "model.glb"))
            outcome = "ready" if result.ok else f"failed: {result.error[:40]}"
            manifest_figures = f"{row['convert_seconds'] or '-'} / {row['peak_rss_mb'] or '-'}"
            print(
                f"| {row['file']} | {int(row['bytes']) // 1024} | {outcome} | {result.triangles or '-'} "
                f"| {result.seconds:.2f} | {result.peak_rss_mb or 0:.0f} | {manifest_figures} |"
            )


if __name__ == "__main__":
    main()
