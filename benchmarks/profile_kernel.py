"""Where a training kernel's cycles go: perf samples mapped onto Numba's machine code.

    python benchmarks/profile_kernel.py --kernel sg_batched --seconds 10
    python benchmarks/profile_kernel.py --kernel sg_batched --hs --negative 0 --out /tmp/prof

Needs Linux ``perf`` (Debian: linux-perf) and binutils' ``nm`` and ``objdump``.
It trains slices of the corpus on one thread for ``--seconds`` while
``perf record -e cpu-clock`` samples this process (a timer event, so it works
on VMs without hardware counters). Numba's JIT code has no symbols perf
knows, so the script writes the kernels' compiled object files (through
Numba's non-public ``_get_compiled_object``) and maps the sampled addresses
onto them. It prints the share of samples per function, per innermost loop
(found from the backward jumps of the disassembly, with its count of vector
arithmetic and their width: zmm 16 floats, ymm 8, xmm 4 or 1) and the hottest
instructions. ``--out`` keeps the object files, the annotated disassembly
(``annotated.txt``) and perf's data.
"""
from __future__ import annotations

import atexit
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import numba_cache_of_its_own  # noqa: E402

# compile afresh: a library loaded from Numba's cache hands its object code to LLVM and keeps no copy
numba_cache_of_its_own("w2v-profile-cache-")

from kernel_bench import make_parser, setup  # noqa: E402


def text_symbols(object_path):
    """{name: (offset, size, strong?)} of the functions defined in an object file (one code section)."""
    out = subprocess.run(["nm", "-S", "--defined-only", object_path], check=True, capture_output=True,
                         text=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "TtWw":
            symbols[parts[3]] = (int(parts[0], 16), int(parts[1], 16), parts[2] == "T")
    return symbols


def disassembly(object_path):
    """{offset: instruction text} of the object file's .text."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-M", "intel", object_path], check=True,
                         capture_output=True, text=True).stdout
    lines = {}
    for line in out.splitlines():
        match = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if match:
            lines[int(match.group(1), 16)] = match.group(2).strip()
    return lines


def main(argv=None):
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=40, help="hottest instructions to print")
    parser.add_argument("--out", help="folder for the object file, perf data and annotated disassembly")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("perf", "nm", "objdump") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"profile_kernel.py needs {', '.join(missing)} (Debian: linux-perf, binutils)")
    out = args.out
    if out is None:  # nothing kept without --out
        out = tempfile.mkdtemp(prefix="w2v-profile-")
        atexit.register(shutil.rmtree, out, True)
    os.makedirs(out, exist_ok=True)
    call, offsets, _ = setup(args)
    # every compiled function of the kernels module: a kernel calls helpers compiled into libraries of their own
    from w2v import kernels
    functions = []  # (name, address, size, object index, offset in the object)
    objects = []
    for dispatcher in vars(kernels).values():
        for overload in getattr(dispatcher, "overloads", {}).values():
            try:
                compiled = overload.library._get_compiled_object()
            except RuntimeError:  # linked into its caller's library, not finalized on its own
                continue
            path = os.path.join(out, f"object{len(objects)}.o")
            with open(path, "wb") as f:
                f.write(compiled)
            symbols = text_symbols(path)
            base = None
            for name, (offset, _, strong) in symbols.items():
                if not strong:  # a weak symbol may resolve to another library's copy
                    continue
                try:
                    address = overload.library.get_pointer_to_function(name)
                except Exception:  # a local symbol the engine does not export
                    continue
                if address:
                    base = address - offset
                    break
            if base is None:
                continue
            objects.append(path)
            functions.extend((name, base + offset, size, len(objects) - 1, offset)
                             for name, (offset, size, _) in symbols.items())
    if not functions:
        sys.exit("could not find the kernels' code in memory")

    data = os.path.join(out, "perf.data")
    recorder = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4999", "-p", str(os.getpid()),
                                 "-o", data], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # let perf attach
    n, s, words, predictions, start = args.sentences, 1, 0, 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        if s + n >= len(offsets):
            s = 1
        _, k, _ = call(s, s + n)
        words += int(offsets[s + n] - offsets[s])
        predictions += k
        s += n
    seconds = time.perf_counter() - start
    recorder.send_signal(signal.SIGINT)
    recorder.wait()
    print(f"{words / seconds:,.0f} words/s, {6 * args.dim * predictions / seconds / 1e9:.2f} GFLOP/s while profiled")

    script = subprocess.run(["perf", "script", "-i", data, "-F", "ip"], check=True, capture_output=True,
                            text=True).stdout
    ips = collections.Counter(int(line.strip(), 16) for line in script.splitlines() if line.strip())
    total = sum(ips.values())
    by_function = collections.Counter()
    by_place = collections.Counter()  # (object index, offset)
    for ip, hits in ips.items():
        for name, address, size, index, offset in functions:
            if address <= ip < address + size:
                by_function[short(name)] += hits
                by_place[(index, offset + ip - address)] += hits
                break
        else:
            by_function["(outside the kernels: Python, NumPy, perf)"] += hits
    print(f"\n{total} samples; share per function:")
    for name, hits in by_function.most_common(8):
        print(f"{100 * hits / total:6.1f}%  {name}")
    with open(os.path.join(out, "annotated.txt"), "w") as f:
        code = {}
        for index, path in enumerate(objects):
            lines = disassembly(path)
            code.update({(index, offset): text for offset, text in lines.items()})
            f.write(f"== {path}\n")
            for offset in sorted(lines):
                share = 100 * by_place.get((index, offset), 0) / total
                f.write(f"{share:6.2f}% {offset:6x}: {lines[offset]}\n")
    print("\nshare per innermost loop (address range, instructions, vector FMA/add/mul and their widest register):")
    for (index, lo, hi), hits in loop_shares(code, by_place).most_common(args.top // 2):
        body = [code[(index, a)] for a in sorted(a for (i, a) in code if i == index and lo <= a <= hi)]
        arith = [t for t in body if re.match(r"v(fmadd|fnmadd|add|mul|sub)\w*p[sd]|vfmadd\w*ss", t)]
        width = next((w for w in ("zmm", "ymm", "xmm") if any(w in t for t in arith)), "-")
        print(f"{100 * hits / total:6.2f}% object{index} {lo:x}-{hi:x}: {len(body)} instructions, "
              f"{len(arith)} arithmetic ({width})")
    print("\nhottest instructions (sampling skid charges a stall to the instruction after its cause):")
    for (index, offset), hits in by_place.most_common(args.top):
        print(f"{100 * hits / total:6.2f}% object{index} {offset:6x}: {code.get((index, offset), '?')[:90]}")
    print(f"\nannotated disassembly: {os.path.join(out, 'annotated.txt')}")


def loop_shares(code, by_place):
    """Samples per innermost loop: {(object, first, last address): hits}; straight-line code is (object, -1, -1)."""
    loops = collections.defaultdict(list)
    for (index, address), text in code.items():
        jump = re.match(r"j\w+\s+([0-9a-f]+)", text)
        if jump and int(jump.group(1), 16) < address:
            loops[index].append((int(jump.group(1), 16), address))
    shares = collections.Counter()
    for (index, address), hits in by_place.items():
        inside = [(lo, hi) for lo, hi in loops[index] if lo <= address <= hi]
        lo, hi = min(inside, key=lambda r: r[1] - r[0]) if inside else (-1, -1)
        shares[(index, lo, hi)] += hits
    return shares


def short(symbol):
    """A readable name for a Numba symbol: _ZN3w2v7kernels10sg_batchedB2v1B92c8...E... -> w2v.kernels.sg_batched."""
    match = re.match(r"_ZN((?:\d+\w+?)+)B\d", symbol)
    if not match:
        return symbol[:80]
    parts, rest = [], match.group(1)
    while rest:
        m = re.match(r"(\d+)", rest)
        n = int(m.group(1))
        parts.append(rest[len(m.group(1)):len(m.group(1)) + n])
        rest = rest[len(m.group(1)) + n:]
    return ".".join(parts)


if __name__ == "__main__":
    main()
