#!/usr/bin/env python
import os
import sys
from pathlib import Path

# `make run` notes the data dir it serves; without PARTSITE_DATA_DIR, commands such as
# createuser and apikey work on that site, not on ./data.
SERVED_DATA_DIR = Path(__file__).resolve().parent / ".venv" / "partsite-data-dir"

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partsite.settings")
    if "PARTSITE_DATA_DIR" not in os.environ and SERVED_DATA_DIR.is_file():
        os.environ["PARTSITE_DATA_DIR"] = SERVED_DATA_DIR.read_text().strip()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
