import os
import re
import sys

import numpy as np
import pytest

from w2v import memory

MAPS = """\
7f0000000000-7f0000200000 r--p 00000000 08:01 42 /venv/site-packages/llvmlite/binding/libllvmlite.so
7f0000200000-7f0005200000 r-xp 00200000 08:01 42 /venv/site-packages/llvmlite/binding/libllvmlite.so
7f0005200000-7f0005400000 rw-p 05200000 08:01 42 /venv/site-packages/llvmlite/binding/libllvmlite.so
7f0006000000-7f0006100000 r-xp 00000000 08:01 43 /usr/lib/libc.so.6
7f0007000000-7f0007100000 rw-p 00000000 00:00 0
"""


def test_only_the_read_only_mappings_of_llvm_are_chosen():
    assert memory.compiler_mappings(MAPS) == [(0x7f0000000000, 0x7f0000200000), (0x7f0000200000, 0x7f0005200000)]
    assert memory.compiler_mappings(MAPS, library="libnothing") == []


def linux_at_least(major, minor):
    if not sys.platform.startswith("linux"):
        return False
    found = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return bool(found) and (int(found.group(1)), int(found.group(2))) >= (major, minor)


@pytest.mark.skipif(not linux_at_least(5, 4), reason="MADV_PAGEOUT needs Linux 5.4 or later")
def test_kernels_still_run_after_the_compiler_pages_are_handed_back():
    from test_kernels import SENTENCE, run_kernel
    before = run_kernel("sg_batched", SENTENCE, 2, True, 0.1)  # loads the kernel, so LLVM is mapped
    assert memory.release_compiler_pages() > 0
    after = run_kernel("sg_batched", SENTENCE, 2, True, 0.1)
    for a, b in zip(before[:3], after[:3]):
        np.testing.assert_array_equal(a, b)


CHILD = """
import os, resource, sys
sys.path.insert(0, sys.argv[1])
from w2v import memory
memory.map_large_blocks()
page = os.sysconf("SC_PAGE_SIZE")
def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
before = resident()
for _ in range(3):  # a large block (a piece's buffer) is handed back when freed, each time
    block = b"x" * (4 << 20)
    del block
large_kept = resident() - before
start = faults()
for _ in range(40):  # a block just under 1 MB (the reader's) is served from the heap's free top again
    block = b"x" * (960 << 10)
    del block
print(large_kept, faults() - start)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc")
def test_large_blocks_are_handed_back_and_the_readers_blocks_are_not_faulted_in_again():
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", CHILD, root], capture_output=True, text=True, check=True).stdout
    large_kept, small_faults = (int(x) for x in out.split())
    assert large_kept < (1 << 20)
    assert small_faults < 2 * (960 << 10) // 4096  # 40 blocks faulted in afresh would be some 9,600
