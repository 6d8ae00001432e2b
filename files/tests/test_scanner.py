"""The scanner against a real clamd: EICAR is found wherever it sits, a clean file is clean, a lost clamd is said so."""

import pytest

from files import scanner
from files.tests.conftest import EICAR
from files.tests.samples import box_step, pdf_bytes


def chunks(data, size=1000):
    return (data[start:start + size] for start in range(0, len(data), size))


def test_a_file_with_the_eicar_string_inside_is_infected(scanning):
    infected = pdf_bytes()[:-6] + EICAR + b"\n%%EOF\n"

    verdict = scanner.scan(chunks(infected))

    assert verdict.status == "infected"
    assert verdict.signature.startswith("Partsite.Test.EICAR")


def test_a_clean_file_is_clean_however_it_is_cut(scanning):
    assert scanner.scan(chunks(box_step(), 7)) == scanner.Verdict("clean")
    assert scanner.scan(iter([box_step()])) == scanner.Verdict("clean")


def test_eicar_split_across_chunks_is_still_found(scanning):
    data = box_step() + EICAR
    cut = len(box_step()) + 30

    assert scanner.scan(iter([data[:cut], data[cut:]])).status == "infected"


def test_a_clamd_that_does_not_answer_is_unavailable_not_clean(settings):
    settings.CLAMAV_ADDRESS = "tcp://127.0.0.1:8799"

    with pytest.raises(scanner.ScannerUnavailable, match="127.0.0.1:8799"):
        scanner.scan(iter([b"anything"]))


def test_scanning_is_off_without_an_address(settings):
    settings.CLAMAV_ADDRESS = ""

    assert not scanner.is_enabled()
