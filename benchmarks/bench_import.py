"""What ``import csm_rules`` costs over a bare interpreter start, and where it goes. Prints figures.

    python benchmarks/bench_import.py [--repeats 21] [--top 15] [--pythonpath DIR]

- median (and best) wall and CPU time of ``python -c "import csm_rules"`` minus ``python -c pass``, each run
  in a fresh interpreter, runs interleaved so background load hits both alike; ``from pydantic import
  BaseModel`` alone is shown as the floor;
- ``-X importtime`` (per-module median over ``--importtime-runs``): self time grouped by top-level package,
  the slowest csm_rules modules by self time (their pydantic model classes are built while they import),
  and the slowest modules overall;
- which optional dependencies end up in ``sys.modules`` after ``import csm_rules`` (none should).

Bytecode is cached as in a real install (``PYTHONDONTWRITEBYTECODE`` is dropped for the children and
``PYTHONPYCACHEPREFIX`` points to ``--pycache``, so the source tree is left alone); the first run fills it.

``--pythonpath DIR`` measures the csm_rules found in DIR (default: this repository), e.g. a patched copy
under /tmp. The interpreters run from ``/`` so the working directory cannot shadow it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

OPTIONAL = ("anthropic", "notion_client", "apscheduler", "hypothesis", "numpy", "zen")
ALSO_SHOWN = ("pydantic", "yaml", "csm_rules.config.loader", "csm_rules.config.schema")
TARGET_MS = 100.0
REFERENCE = "from pydantic import BaseModel"  # the floor while the snapshot is a pydantic model
REPO = Path(__file__).resolve().parent.parent
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _run(code: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    # run from "/": `python -c` puts the working directory first on sys.path, shadowing --pythonpath
    command = [sys.executable, *flags, "-c", code]
    return subprocess.run(command, env=env, cwd="/", check=True, capture_output=True, text=True)


def _start(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one fresh interpreter running ``code``."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], env=env, cwd="/")
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, code)
    return wall, usage.ru_utime + usage.ru_stime


def start_times(env: dict[str, str], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of ``pass`` and of ``import csm_rules``, interleaved, ``repeats`` each."""
    times: dict[str, dict[str, list[float]]] = {
        code: {"wall": [], "cpu": []} for code in ("pass", REFERENCE, "import csm_rules")
    }
    for _ in range(repeats):
        for code, into in times.items():
            wall, cpu = _start(code, env)
            into["wall"].append(wall)
            into["cpu"].append(cpu)
    return times


def importtime(env: dict[str, str], runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """Per-module median self and cumulative time in ms, from ``-X importtime``."""
    selfs: dict[str, list[float]] = defaultdict(list)
    cumulative: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        stderr = _run("import csm_rules", env, "-X", "importtime").stderr
        for match in _LINE.finditer(stderr):
            selfs[match[4]].append(int(match[1]) / 1000)
            cumulative[match[4]].append(int(match[2]) / 1000)
    return (
        {name: statistics.median(v) for name, v in selfs.items()},
        {name: statistics.median(v) for name, v in cumulative.items()},
    )


def loaded_modules(env: dict[str, str]) -> dict[str, bool]:
    """Whether each optional (and each notable) module is in ``sys.modules`` after ``import csm_rules``."""
    names = (*OPTIONAL, *ALSO_SHOWN)
    code = f"import json, sys, csm_rules; print(json.dumps({{m: m in sys.modules for m in {names!r}}}))"
    result: dict[str, bool] = json.loads(_run(code, env).stdout)
    return result


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="interpreter starts per measurement")
    parser.add_argument(
        "--importtime-runs", type=int, default=7, help="-X importtime runs (median per module)"
    )
    parser.add_argument("--top", type=int, default=15, help="rows in each importtime table")
    parser.add_argument(
        "--pythonpath",
        default=str(REPO),
        help="directory holding the csm_rules to measure (default: this repo)",
    )
    parser.add_argument(
        "--pycache",
        default=str(Path(tempfile.gettempdir()) / "csm-bench-pycache"),
        help="PYTHONPYCACHEPREFIX",
    )
    args = parser.parse_args()

    env = dict(os.environ)
    # as installed: bytecode cached (here in a private prefix, so the source tree is not touched)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = args.pycache
    inherited = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(Path(args.pythonpath).resolve()), *inherited])
    where = _run("import csm_rules; print(csm_rules.__file__)", env).stdout.strip()  # also fills the cache
    print(f"python {sys.version.split()[0]}, csm_rules from {where}")

    times = start_times(env, args.repeats)
    print(f"\nimport csm_rules over a bare start ({args.repeats} interleaved runs each), ms:")
    print(f"  {'':<48}{'median':>8}{'best':>8}")
    for kind, label in (("wall", "wall time"), ("cpu", "CPU time (user+sys)")):
        bare = times["pass"][kind]
        name = "bare interpreter, " + label
        print(f"  {name:<48}{statistics.median(bare) * 1e3:8.1f}{min(bare) * 1e3:8.1f}")
        for code, name in ((REFERENCE, "pydantic alone"), ("import csm_rules", "import csm_rules")):
            full = times[code][kind]
            over = (statistics.median(full) - statistics.median(bare)) * 1e3, (min(full) - min(bare)) * 1e3
            print(f"  {name + ' over bare, ' + label:<48}{over[0]:8.1f}{over[1]:8.1f}")
    print(
        f"  target: ≤ {TARGET_MS:g} ms. CPU time is the steadier figure when other work shares the machine."
    )

    selfs, cumulative = importtime(env, args.importtime_runs)
    total = cumulative.get("csm_rules", float("nan"))
    groups: dict[str, float] = defaultdict(float)
    for name, ms in selfs.items():
        groups[name.split(".")[0]] += ms
    print(f"\n-X importtime, median of {args.importtime_runs} runs (inflated): csm_rules {total:.1f} ms")
    print("  self time by top-level package:")
    for name, ms in sorted(groups.items(), key=lambda item: -item[1])[: args.top]:
        print(f"    {name:<40}{ms:8.1f} ms")
    print("  csm_rules modules by self time (includes building their pydantic models):")
    ours = {name: ms for name, ms in selfs.items() if name.split(".")[0] == "csm_rules"}
    for name, ms in sorted(ours.items(), key=lambda item: -item[1])[: args.top]:
        print(f"    {name:<40}{ms:8.1f} ms   (cumulative {cumulative[name]:6.1f})")
    print("  slowest modules overall by self time:")
    for name, ms in sorted(selfs.items(), key=lambda item: -item[1])[: args.top]:
        print(f"    {name:<40}{ms:8.1f} ms   (cumulative {cumulative[name]:6.1f})")

    loaded = loaded_modules(env)
    print("\nin sys.modules after `import csm_rules`:")
    for name in OPTIONAL:
        print(f"  {name:<26}{'IMPORTED (should not be)' if loaded[name] else 'not imported'}")
    for name in ALSO_SHOWN:
        print(f"  {name:<26}{'imported' if loaded[name] else 'not imported'}")


if __name__ == "__main__":
    main()
