"""Flow files read in Python (sluice.flowfile, sluice.yamlcore) against
C's reading of the same files: the Flow message `sluice run` would
submit, byte for byte (tests/integration/flow_wire prints C's), the same
error at the same place for bad files, and `python3 -m sluice run` on a
real broker, C workers and Redis, sharing entries with C's `sluice run`."""

import json
import os
import subprocess
import time

import pytest

from conftest import BIN, SRC, run_python, sluice
from sluice import flowfile, yamlcore

EVERYTHING = """\
flow: Everything
description: every kind of node and option
cache: {url: "redis://127.0.0.1:1/0", namespace: team.a, ttl: 1h}
params:
  numbers: [1, 2, 0x10, 017, 1e3, yes, NULL, TRUE, !!str 5, .inf, 0o17]
  base: &base {a: 1, "<<": x, 2: !!float 3}
  when: 2024-01-01
tasks:
  squares:
    run: mul@1
    map: {x: $params.numbers}
    args: [$x, $x]
    retries: 0x3
    retry_delay: 250ms
    ttl: forever
    priority: -5
  total:
    run: sum
    args: [$squares]
    cache_key: total-2026
    refresh: TRUE
    timeout: 1.5s
  words:
    cmd: [wc, -w, $f, 5, yes]
    args: [1, two]
    inputs: [a.txt, $params.when]
    stdout: text
    env: {LANG: C, N: 5}
    outputs: [out/x.txt]
    map: {f: [a.txt, b.txt]}
  shell:
    sh: echo "$1" > out.txt
    args: [$total, *base]
    cache: none
    validate: inputs
"""

H = "flow: f\ntasks:\n"
# Each is refused by the file's reading alone (not by the validator,
# which the broker runs on submit): C and Python must say the same thing
# at the same place.
BAD = [
    "flow: f\ntaks:\n  a: {run: echo}\n",
    H + "  a:\n    run: echo\n    arg: [1]\n",
    "flow: f\ncache: {url: x, host: y}\ntasks:\n  a: {run: echo}\n",
    "flow: f\ncache: {url: http://x}\ntasks:\n  a: {run: echo}\n",
    "flow: f\ncache: {namespace: 'a b'}\ntasks:\n  a: {run: echo}\n",
    "flow: f\ncache: {ttl: 0}\ntasks:\n  a: {run: echo}\n",
    "flow: f\nparams: [1]\ntasks:\n  a: {run: echo}\n",
    "flow: f\nparams: {1x: 2}\ntasks:\n  a: {run: echo}\n",
    "flow: [x]\ntasks:\n  a: {run: echo}\n",
    "- just\n- a list\n", "flow: f\n", "tasks:\n  a: {run: echo}\n", "",
    "flow: f\ntasks: []\n", "flow: f\ntasks: {}\n",
    H + "  add:\n    args: [1, 2]\n",
    H + "  a: {run: echo}\n  a: {run: echo}\n",
    H + "  a: {run: echo, map: [1]}\n", H + "  a: {run: echo, map: {}}\n",
    H + "  a: {run: echo, map: {x: 5}}\n",
    H + "  a: {run: echo, args: 5}\n",
    H + "  a: {run: echo, retries: -1}\n",
    H + "  a: {run: echo, retries: !!str 3}\n",
    H + "  a: {run: echo, ttl: 0}\n", H + "  a: {run: echo, timeout: x}\n",
    H + "  a: {run: echo, timeout: 0s}\n",
    H + "  a: {run: echo, retry_delay: forever}\n",
    H + "  a: {run: echo, refresh: yes}\n",
    H + "  a: {run: echo, cache: all}\n",
    H + "  a: {run: echo, validate: all}\n",
    H + "  a: {run: echo, inputs: x}\n",
    H + "  a: {run: [echo]}\n", H + "  a: {run: echo@x}\n",
    H + "  a: {run: echo, args: [99999999999999999999]}\n",
    H + "  a: {run: echo, args: [!!timestamp 2024-01-01]}\n",
    H + "  a: {run: echo, args: [!!int x]}\n",
    H + "  a: {run: echo, !foo args: [1]}\n",
    H + "  a: {run: echo, args: [{a: 1, a: 2}]}\n",
    H + "  a: {run: echo, args: [1,\n",
    H + "  a: {cmd: [], args: [1]}\n", H + "  a: {cmd: [./x]}\n",
    H + "  a: {cmd: [wc], env: {1x: y}}\n",
    H + "  a: {cmd: [wc], outputs: [../x]}\n",
    H + "  a: {cmd: [wc], stdout: csv}\n",
    H + "  a: {run: echo, stdout: text}\n",
    H + "  a: {run: echo, cmd: [wc]}\n", H + "  a: {sh: ''}\n",
]


def c_reading(path):
    """What C makes of the file: ("ok", Flow bytes) or ("error", text)."""
    r = subprocess.run([os.path.join(BIN, "tests/flow_wire"), str(path)],
                       capture_output=True, text=True, timeout=30)
    out = r.stdout.strip()
    if out.startswith("error: "):
        return "error", out[len("error: "):]
    assert r.returncode == 0, r.stderr
    return "ok", bytes.fromhex(out)


def py_reading(path):
    try:
        return "ok", flowfile.load(str(path)).SerializeToString()
    except flowfile.FlowFileError as err:
        return "error", str(err)


def example_files():
    out = []
    for root, _, files in os.walk(os.path.join(SRC, "examples")):
        out += [os.path.join(root, f) for f in files
                if f.endswith(".yaml") and "k8s" not in root]
    assert len(out) >= 4
    return sorted(out)


@pytest.mark.parametrize("path", example_files(),
                         ids=lambda p: os.path.relpath(p, SRC))
def test_examples_read_as_c_reads_them(path):
    kind, wire = c_reading(path)
    assert kind == "ok", wire
    assert py_reading(path) == ("ok", wire)


def test_every_option_reads_as_c_reads_it(tmp_path):
    path = tmp_path / "everything.yaml"
    path.write_text(EVERYTHING)
    kind, wire = c_reading(path)
    assert kind == "ok", wire
    assert py_reading(path) == ("ok", wire)
    flow = flowfile.load(str(path))
    assert [n.name for n in flow.nodes] == ["squares", "total", "words",
                                            "shell"]
    assert flow.nodes[0].version == 1 and flow.nodes[0].retries == 3


@pytest.mark.parametrize("text", BAD, ids=range(len(BAD)))
def test_bad_files_are_refused_as_c_refuses_them(tmp_path, text):
    path = tmp_path / "flow.yaml"
    path.write_text(text)
    kind, c_error = c_reading(path)
    assert kind == "error", "C took it"
    assert py_reading(path) == ("error", c_error)
    assert c_error.startswith(f"{path}:") or c_error.startswith(
        f"{path}: the file is empty")


def test_param_values_read_by_the_dialect():
    p = flowfile.param("numbers=[yes, 017, 0x10]")
    from sluice import values
    assert values.from_wire(p.value) == ["yes", 17, 16]
    with pytest.raises(flowfile.FlowFileError, match="want NAME=VALUE"):
        flowfile.param("numbers")
    with pytest.raises(yamlcore.YamlError,
                       match=r"^value '!!int x':1:1: 'x' is not an integer"):
        flowfile.param("n=!!int x")


def test_alias_bomb_is_refused_at_once():
    text = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join(["*" + chr(97 + i)] * 10)
        + "]\n" for i in range(9))
    start = time.monotonic()
    with pytest.raises(yamlcore.YamlError, match="expands to more than"):
        yamlcore.load(text)
    assert time.monotonic() - start < 1.0
    with pytest.raises(yamlcore.YamlError, match="nests deeper than 72"):
        yamlcore.load("[" * 100000 + "]" * 100000)
    with pytest.raises(yamlcore.YamlError, match="value nests deeper"):
        yamlcore.load("a: &x [*x]")


def run_py(*args, env=None):
    return run_python("import sys; from sluice.__main__ import main; "
                      f"sys.argv = ['sluice'] + {list(args)!r}; main()",
                      env=env, code=True)


def test_python_run_shares_entries_with_c_run(cluster):
    mapreduce = os.path.join(SRC, "examples/mapreduce.yaml")
    r = run_py("run", "--json", "--broker", cluster.broker, mapreduce)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["state"] == "done"
    total = next(n for n in doc["nodes"] if n["name"] == "total")
    assert total["value"] == 385 and total["cached"] == 0
    # C reads the file to the same keys: every task is served
    c = sluice("run", "--json", "--broker", cluster.broker, mapreduce)
    assert c.returncode == 0, c.stderr
    nodes = {n["name"]: n for n in json.loads(c.stdout)["nodes"]}
    assert nodes["squares"]["cached"] == 10 and nodes["total"]["cached"] == 1
    assert nodes["report"]["cached"] == 0       # cache: none
    # a parameter, read by the dialect: 0x3 is 3
    r = run_py("run", "--json", "--broker", cluster.broker, "--param",
               "numbers=[1, 2, 0x3]", mapreduce)
    assert r.returncode == 0, r.stderr
    total = next(n for n in json.loads(r.stdout)["nodes"]
                 if n["name"] == "total")
    assert total["value"] == 14


def test_python_run_exit_codes(cluster, tmp_path):
    failing = tmp_path / "fail.yaml"
    failing.write_text(H + "  a: {run: fail, args: [no luck], cache: none}\n")
    r = run_py("run", "--broker", cluster.broker, str(failing))
    assert r.returncode == 1 and "no luck" in r.stdout, r.stdout + r.stderr
    # the validator's errors come from the broker, with the file's place
    missing = tmp_path / "missing.yaml"
    missing.write_text(H + "  a: {run: echo, args: [$nothing]}\n")
    r = run_py("run", "--broker", cluster.broker, str(missing))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{missing}:3:3" in r.stderr and "$nothing" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(H + "  a: {run: echo, refresh: yes}\n")
    r = run_py("run", "--broker", cluster.broker, str(bad))
    assert r.returncode == 2
    assert f"{bad}:3:27: refresh must be true or false" in r.stderr
