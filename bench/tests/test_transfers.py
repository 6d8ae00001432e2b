"""Where the transfers keep their files: a disk's mood is not the code's figure."""

from bench import transfers


def test_the_files_go_where_bench_transfers_dir_says(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_TRANSFERS_DIR", str(tmp_path))
    assert transfers.scratch_folder([500]) == tmp_path


def test_without_a_choice_the_files_go_to_memory_when_it_has_room(monkeypatch, tmp_path):
    monkeypatch.delenv("BENCH_TRANSFERS_DIR", raising=False)
    monkeypatch.setattr(transfers, "RAM_FOLDER", tmp_path)
    assert transfers.scratch_folder([1]) == tmp_path


def test_without_room_in_memory_the_files_go_to_the_temporary_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("BENCH_TRANSFERS_DIR", raising=False)
    monkeypatch.setattr(transfers, "RAM_FOLDER", tmp_path)
    monkeypatch.setattr(transfers.tempfile, "gettempdir", lambda: "/var/tmp")
    assert str(transfers.scratch_folder([10**9])) == "/var/tmp"
