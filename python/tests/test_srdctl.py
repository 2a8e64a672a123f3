# SPDX-License-Identifier: MIT
# The same store file from Python and from C: what Python writes, srdctl
# (libsrdclient in C) reads byte for byte, and the reverse; srdctl's
# read-only commands work while Python holds the writer lock, and a put
# gets the writer role handed over to an srdd started by itself.
import json
import os
import subprocess

from simd_r_drive import DataStore, key_hash

BINARY = bytes(range(256)) * 3 + b"\n\x00\r\n"


def ctl(srdctl, path, *args, stdin=None, env=None):
    return subprocess.run([srdctl, "--store", path, *args], input=stdin,
                          capture_output=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


def test_srdctl_reads_what_python_wrote(srdctl, path):
    big = os.urandom(3 * 1024 * 1024 + 11)
    with DataStore(path) as s:
        s.write(b"text", b"hello from python")
        s.write(b"binary", BINARY)
        s.write_stream(b"big", _BytesReader(big))
        s.batch_write([(b"b1", b"one"), (b"b2", b"two")])
        s.write(b"gone", b"soon deleted")
        s.delete(b"gone")
    assert ctl(srdctl, path, "get", "text").stdout == b"hello from python"
    assert ctl(srdctl, path, "get", "binary").stdout == BINARY
    assert ctl(srdctl, path, "get", "big").stdout == big
    assert ctl(srdctl, path, "get", "b2").stdout == b"two"
    missing = ctl(srdctl, path, "get", "gone")
    assert missing.returncode == 1 and missing.stdout == b""
    assert ctl(srdctl, path, "exists", "b1").returncode == 0
    info = json.loads(ctl(srdctl, path, "info", "--json").stdout)
    assert info["live_keys"] == 5
    assert ctl(srdctl, path, "verify").returncode == 0


def test_python_reads_what_srdctl_wrote(srdctl, path, tmp_path):
    big = os.urandom(2 * 1024 * 1024 + 3)
    (tmp_path / "big.bin").write_bytes(big)
    assert ctl(srdctl, path, "put", "arg", "from srdctl").returncode == 0
    assert ctl(srdctl, path, "put", "file", "--file",
               str(tmp_path / "big.bin")).returncode == 0
    assert ctl(srdctl, path, "put", "stdin", stdin=BINARY).returncode == 0
    assert ctl(srdctl, path, "put", "gone", "x").returncode == 0
    assert ctl(srdctl, path, "del", "gone").returncode == 0
    with DataStore(path) as s:
        assert s.read(b"arg") == b"from srdctl"
        assert s.read(b"file") == big
        assert s.read(b"stdin") == BINARY
        assert s.read(b"gone") is None
        assert len(s) == 3
        assert {h for h, _ in s} == {key_hash(k) for k in
                                     (b"arg", b"file", b"stdin")}
        assert s.read_entry(b"file").is_valid_checksum()


def test_srdctl_reads_while_python_holds_the_writer(srdctl, path):
    with DataStore(path) as s:
        s.write(b"live", b"written by the open writer")
        got = ctl(srdctl, path, "get", "live")
        assert got.returncode == 0
        assert got.stdout == b"written by the open writer"
        refused = ctl(srdctl, path, "put", "other", "value",
                      env={"SRD_AUTOSTART": "0"})  # the lock itself
        assert refused.returncode == 3
        assert b"locked" in refused.stderr
        assert s.read(b"other") is None


def test_srdctl_put_while_python_holds_the_writer_is_handed_over(srdctl,
                                                                path):
    with DataStore(path) as s:
        s.write(b"live", b"written by the open writer")
        put = ctl(srdctl, path, "put", "other", "value")
        assert put.returncode == 0, put.stderr  # through an srdd it started
        s.refresh()
        assert s.read(b"other") == b"value"
        s.write(b"after", b"python writes on, through srdd")
    assert ctl(srdctl, path, "get", "after").stdout == \
        b"python writes on, through srdd"


def test_srdctl_compaction_keeps_what_python_wrote(srdctl, path):
    with DataStore(path) as s:
        for i in range(100):
            s.write(b"k", b"version %d" % i)
    assert ctl(srdctl, path, "compact").returncode == 0
    with DataStore(path) as s:
        assert s.read(b"k") == b"version 99"
        assert s.info()["entries"] == 1


class _BytesReader:
    """A minimal reader: only read(n), as write_stream requires."""

    def __init__(self, data):
        self.data = memoryview(data)

    def read(self, n):
        out, self.data = self.data[:n], self.data[n:]
        return out
