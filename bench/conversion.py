"""How long each real STEP file takes to convert, and the converter's peak memory.

Runs every file of the shared corpus (../shared/step/real, or PARTSITE_STEP_CORPUS)
through the same child-process converter the worker uses, beside what MANIFEST.tsv
measured for cascadio alone; then draws the PNG preview of each model, as the worker
does after a conversion. Prints figures only.
"""

import csv
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from files.converter import convert_step_to_glb  # noqa: E402  (needs ROOT on the path)
from files.preview import render_preview  # noqa: E402

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
    models = []
    with tempfile.TemporaryDirectory() as work:
        for row in rows:
            glb_path = Path(work) / f"{row['file']}.glb"
            result = convert_step_to_glb(str(CORPUS / "real" / row["file"]), str(glb_path))
            if result.ok:
                models.append((row["file"], result.triangles, glb_path))
            outcome = "ready" if result.ok else f"failed: {result.error[:40]}"
            manifest_figures = f"{row['convert_seconds'] or '-'} / {row['peak_rss_mb'] or '-'}"
            print(
                f"| {row['file']} | {int(row['bytes']) // 1024} | {outcome} | {result.triangles or '-'} "
                f"| {result.seconds:.2f} | {result.peak_rss_mb or 0:.0f} | {manifest_figures} |"
            )
        print("\n| Preview of | Triangles | Outcome | Seconds | Peak RSS (MB) |")
        print("|---|---:|---|---:|---:|")
        for name, triangles, glb_path in models:
            drawn = render_preview(str(glb_path), str(Path(work) / "preview.png"))
            outcome = "drawn" if drawn.ok else f"failed: {drawn.error[:40]}"
            print(f"| {name} | {triangles} | {outcome} | {drawn.seconds:.2f} | {drawn.peak_rss_mb or 0:.0f} |")


if __name__ == "__main__":
    main()
