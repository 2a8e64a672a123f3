# SPDX-License-Identifier: MIT
# fork() after opening a store as its writer (embedded mode): the child's
# writes through the inherited handle fail with SRD_EFORKED instead of
# returning OK and being lost; reads still work; the parent is unaffected.
import os

from simd_r_drive import DataStore, StoreError


def _child_code(s):
    """0 when every write of the child is refused with SRD_EFORKED."""
    if s.read(b"k") != b"parent":
        return 3
    for write in (lambda: s.write(b"k", b"child"),
                  lambda: s.batch_write([(b"k", b"child")]),
                  lambda: s.delete(b"k")):
        try:
            write()
        except StoreError as e:
            if e.name != "SRD_EFORKED":
                return 2
        else:
            return 1
    return 0


def test_forked_child_cannot_write_through_the_parents_handle(path):
    s = DataStore(path)
    s.write(b"k", b"parent")
    pid = os.fork()
    if pid == 0:
        code = 4
        try:
            code = _child_code(s)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    s.write(b"k2", b"after")
    s.close()
    with DataStore(path) as s:
        assert s.read(b"k") == b"parent"
        assert s.read(b"k2") == b"after"
