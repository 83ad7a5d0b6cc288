"""The Python versions of the bench's built-ins (examples/bench/
python_tasks.py) against the C built-ins they share entries with: the
same calls, one flow run by C's `sluice run --local`, the same results
and the same failures."""

import json
import os
import sys

from conftest import SRC, sluice

sys.path.insert(0, os.path.join(SRC, "examples/bench"))
import python_tasks  # noqa: E402

CASES = [
    ("add", [1, 2]), ("add", [1, 2.5]), ("add", []), ("add", [0.1, 0.2, 3]),
    ("add", [2**62, 2**62]), ("add", [2**62, 2**62, 1.0]), ("add", [1, "a"]),
    ("add", [True]), ("sum", [[1, 2, 3]]), ("sum", [[]]), ("sum", [5]),
    ("echo", []), ("echo", [7]), ("echo", [1, "b"]),
]
PY = {"add": python_tasks.add, "sum": python_tasks.total,
      "echo": python_tasks.echo}


def test_python_builtins_compute_what_c_computes(tmp_path):
    lines = ["flow: builtins", "tasks:"]
    for i, (name, args) in enumerate(CASES):
        lines += [f"  n{i}:", f"    run: {name}", f"    args: {json.dumps(args)}",
                  "    cache: none"]
    (tmp_path / "f.yaml").write_text("\n".join(lines) + "\n")
    r = sluice("run", "--local", "--json", "--quiet", str(tmp_path / "f.yaml"),
               env={"SLUICE_CACHE_DIR": str(tmp_path / "cache")})
    nodes = json.loads(r.stdout)["nodes"]
    for (name, args), node in zip(CASES, nodes):
        try:
            mine, failed = PY[name].run_bound(args), False
        except (TypeError, OverflowError):
            mine, failed = None, True
        assert failed == (node["state"] != "done"), (name, args, node)
        if not failed:
            assert mine == node["value"] and \
                type(mine) is type(node["value"]), (name, args, node)
