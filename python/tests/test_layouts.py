# SPDX-License-Identifier: MIT
# The unpadded layout of simd_r_drive_py 0.4 (tests/layouts/unpadded-0.4.bin,
# made by make_unpadded.py with its expected contents): the module reads it
# key by key, says so in info(), and leaves the file byte for byte as it was.
import json
import os
import pathlib
import shutil

from simd_r_drive import DataStore

LAYOUTS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "layouts"


def test_unpadded_golden_store_reads_key_by_key(path):
    shutil.copyfile(LAYOUTS / "unpadded-0.4.bin", path)
    before = pathlib.Path(path).read_bytes()
    expected = json.loads((LAYOUTS / "unpadded-0.4.json").read_text())
    with DataStore(path) as s:
        info = s.info()
        assert info["layout"] == "unpadded"
        assert info["live_keys"] == expected["live_keys"]
        for kh, e in expected["keys_hex"].items():
            v = s.read(bytes.fromhex(kh))
            assert v is not None and len(v) == e["len"]
            if "hex" in e:
                assert bytes(v) == bytes.fromhex(e["hex"])
        for kh in expected["absent_hex"]:
            assert s.read(bytes.fromhex(kh)) is None
        assert s.verify()["ok"] is True
    assert pathlib.Path(path).read_bytes() == before
    assert os.path.getsize(path) == expected["size"]
