# SPDX-License-Identifier: MIT
# The usage block (usage_example.py) runs unchanged, in a fresh
# interpreter and an empty directory, and every assert about it holds.
import os
import subprocess
import sys


def test_usage_block_runs_unchanged_and_does_what_its_comments_say(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "usage_example.py")
    proc = subprocess.run([sys.executable, script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("usage example: ok")
    assert (tmp_path / "mydata.bin").is_file()
