import hashlib
import http.server
import io
import os
import sys
import threading
import zipfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "corpora"))
import download_text8  # noqa: E402
from conftest import slurp  # noqa: E402


@pytest.fixture
def server(tmp_path):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("text8", " anarchism originated as a term of abuse" * 100)
    (tmp_path / "text8.zip").write_bytes(archive.getvalue())
    (tmp_path / "other.zip").write_bytes(b"not a zip")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hashlib.md5(archive.getvalue()).hexdigest()
    httpd.shutdown()


def test_downloads_verifies_and_unpacks(server, tmp_path):
    base, md5 = server
    out = tmp_path / "out"
    path = download_text8.download(f"{base}/text8.zip", str(out), md5=md5, progress=False)
    assert slurp(path).startswith(" anarchism originated")
    assert os.listdir(out) == ["text8"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    base, _ = server
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="does not match"):
        download_text8.download(f"{base}/text8.zip", str(out), md5="0" * 32, progress=False)
    assert os.listdir(out) == []
    assert download_text8.main(["-o", str(out), "--url", f"{base}/missing.zip", "-q"]) == 1
    assert os.listdir(out) == []
