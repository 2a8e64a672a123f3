# SPDX-License-Identifier: MIT
# Many Python processes on one store with no operator step: the second
# process to open a store that another holds gets it handed over to an srdd
# started by itself (docs/CLIENT.md, "Starting srdd by itself"), and both
# run on as its clients; autostart=False and SRD_AUTOSTART=0 keep the old
# SRD_EBUSY, with the reason in the message.
import os
import re
import subprocess
import sys
import time

import pytest
from conftest import lock_holder_pids, run_python, start_python

from simd_r_drive import DataStore

HERE = os.path.dirname(__file__)


def seed_block():
    """The issue's usage block from usage_example.py, unchanged."""
    with open(os.path.join(HERE, "usage_example.py")) as f:
        text = f.read()
    m = re.search(r"# ---- the issue's block, unchanged -+\n(.*?)# ---- end",
                  text, re.S)
    assert m, "usage_example.py lost its block markers"
    return m.group(1)


# The seed block, then: say so, wait for the go, check what this process
# wrote survives next to the other's, close. Run in the store's folder.
SEED_RUNNER = r"""
import io, os, sys
payload = os.urandom(5 * 1024 * 1024 + 321)
exec(compile(sys.argv[1], "seed-block", "exec"))
print("ran", flush=True)
sys.stdin.readline()
assert store.read(b"user:1") == b"alice" and store.read(b"user:2") == b"bob"
assert store.read(b"large-file") is not None
store.close()
print("closed", flush=True)
"""


def await_no_srdd(store_path, timeout=30):
    """The srdd started by itself stops when idle: wait for its exit."""
    deadline = time.monotonic() + timeout
    while os.path.exists(store_path + ".srdd"):
        assert time.monotonic() < deadline, "srdd did not stop when idle"
        time.sleep(0.02)
    while lock_holder_pids(store_path + ".lock"):
        assert time.monotonic() < deadline, "srdd kept the lock"
        time.sleep(0.02)


def start_seed(cwd):
    return subprocess.Popen([sys.executable, "-c", SEED_RUNNER, seed_block()],
                            cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_processes_run_the_seed_examples_on_one_path_at_once(tmp_path):
    store_path = str(tmp_path / "mydata.bin")
    a, b = start_seed(tmp_path), start_seed(tmp_path)
    try:
        for p in (a, b):  # both have the store open at once
            line = p.stdout.readline().strip()
            assert line == "ran", p.stderr.read()
        holders = lock_holder_pids(store_path + ".lock")
        assert holders and not holders & {a.pid, b.pid}, \
            "srdd, not one of the two, must be the writer"
        for p in (a, b):
            out, err = p.communicate("go\n", timeout=120)
            assert p.returncode == 0, out + err
            assert out.strip() == "closed"
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
                p.wait()
    await_no_srdd(store_path)
    with DataStore(store_path, readonly=True) as s:
        assert s.read(b"user:1") == b"alice"
        assert len(s.read(b"large-file")) == 5 * 1024 * 1024 + 321
    assert os.path.isfile(store_path + ".srdd.log")


HOLDER = r"""
import sys
from simd_r_drive import DataStore
s = DataStore(sys.argv[1], autostart=sys.argv[2] == "1")
s.write(b"held", b"yes")
print("ready", flush=True)
for line in sys.stdin:
    k, v = line.split()
    s.write(k.encode(), v.encode())
    print("ok", flush=True)
s.close()
"""


def test_second_process_open_hands_over_and_the_first_writes_on(path):
    holder = start_python(HOLDER, path, "1")
    try:
        assert holder.stdout.readline().strip() == "ready"
        with DataStore(path) as s:  # no flag, no srdd started by hand
            assert s.read(b"held") == b"yes"
            s.write(b"second", b"2")
            holder.stdin.write("first 1\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "ok"
            deadline = time.monotonic() + 10
            while s.read(b"first") is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert s.read(b"first") == b"1"
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0, holder.stderr.read()
    await_no_srdd(path)
    with DataStore(path) as s:  # alone again: the embedded writer
        assert s.read(b"second") == b"2" and s.read(b"first") == b"1"


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_opting_out_keeps_ebusy_with_the_reason(path, how):
    holder = start_python(HOLDER, path, "1")
    try:
        assert holder.stdout.readline().strip() == "ready"
        code = (r"""
import os, sys
from simd_r_drive import DataStore, StoreError
try:
    DataStore(sys.argv[1]%s)
except StoreError as e:
    print(e.name, str(e))
""" % (", autostart=False" if how == "keyword" else ""))
        env_code = ("import os; os.environ['SRD_AUTOSTART'] = '0'\n"
                    if how == "environment" else "")
        out = run_python(env_code + code, path).stdout
        assert out.startswith("SRD_EBUSY"), out
        assert ("autostart=False" if how == "keyword"
                else "SRD_AUTOSTART=0") in out
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0
    assert not os.path.exists(path + ".srdd")  # nothing was started
