# SPDX-License-Identifier: MIT
# Shared fixtures of the simd_r_drive tests: a fresh store path, the srdctl
# and srdd executables (from SRDCTL_PATH / SRDD_PATH, set by ctest), and a
# helper that runs Python code in a child process with the same module.
import os
import subprocess
import sys

import pytest

# srd_open starts srdd by itself when a second process opens a store:
# the srdd of this build, stopping one second after its last client.
if os.environ.get("SRDD_PATH"):
    os.environ.setdefault("SRD_SRDD", os.environ["SRDD_PATH"])
os.environ.setdefault("SRD_AUTOSTART_IDLE", "1")


@pytest.fixture
def path(tmp_path):
    """A store path in a fresh directory (the file does not exist yet)."""
    return str(tmp_path / "store.srd")


def _tool(var):
    exe = os.environ.get(var)
    if not exe or not os.path.isfile(exe):
        pytest.skip(f"{var} is not set or does not name a file")
    return exe


@pytest.fixture
def srdctl():
    return _tool("SRDCTL_PATH")


@pytest.fixture
def srdd_exe():
    return _tool("SRDD_PATH")


def run_python(code, *args, timeout=120, check=True):
    """Runs code in a fresh interpreter (argv[1:] = args); returns the
    CompletedProcess with text stdout/stderr."""
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"child failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def start_python(code, *args):
    """Starts code in a fresh interpreter with pipes on stdin and stdout."""
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def lock_holder_pids(lock_path):
    """Pids holding a flock on lock_path, from /proc/locks."""
    try:
        st = os.stat(lock_path)
    except FileNotFoundError:
        return set()
    want = ":%d" % st.st_ino
    pids = set()
    with open("/proc/locks") as f:
        for line in f:
            parts = line.split()
            if "FLOCK" in parts and parts[-3].endswith(want):
                pids.add(int(parts[-4]))
    return pids
