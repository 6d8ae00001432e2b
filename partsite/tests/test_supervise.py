"""Where a site's Unix sockets go (supervisord's and gunicorn's): in its data dir, or, when that
is too deep for a socket's path, in the temporary folder, still one per data dir."""

import socket

from partsite.supervise import socket_path


def test_a_socket_in_a_shallow_data_dir_stays_there(tmp_path):
    assert socket_path(tmp_path / "run" / "supervisord.sock") == tmp_path / "run" / "supervisord.sock"


def test_a_deep_data_dir_still_gets_a_socket_of_its_own_that_binds(tmp_path):
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 5)
    paths = [socket_path(deep / site / "run" / "supervisord.sock") for site in ("first", "second")]

    assert paths[0] != paths[1]
    for path in paths:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
        path.unlink()
