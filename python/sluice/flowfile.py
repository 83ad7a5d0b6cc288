"""sluice.flowfile: flow files (the README's "The flow file") read into the
Flow message a broker takes, as `sluice run` reads them
(common/flow_yaml.c, common/flow_program.c): the same values, by the same
YAML dialect (yamlcore, docs/FLOWS.md), so the same cache keys. Every
error names file, line and column. The broker checks what needs the
whole flow (references, cycles, names) on submit, with the positions
this sends."""

import re

from . import sluice_pb2 as pb
from . import values
from .yamlcore import Document, YamlError

MAX_BYTES = 4 << 20
MAX_NODES = 10000
DEFAULT_TTL_MS = 7 * 24 * 3600 * 1000
DEFAULT_RETRY_DELAY_MS = 1000
FOREVER = -1
PROGRAM_TASK, PROGRAM_SHELL = "exec", "/bin/sh"
ARGV_MAX_COUNT, OUTPUTS_MAX_COUNT, PROGRAM_NAME_MAX_BYTES = 4096, 1000, 255
_UNITS = (("ms", 1), ("s", 1000), ("m", 60000), ("h", 3600000),
          ("d", 86400000), ("", 1000))
_DURATION = re.compile(r"(0[xX][0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?"
                       r"(?:[pP][-+]?[0-9]+)?"
                       r"|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)"
                       r"(ms|s|m|h|d|)")
NODE_KEYS = ("run, args, map, cmd, sh, stdout, env, inputs, outputs, "
             "cache, cache_key, ttl, refresh, validate, retries, "
             "retry_delay, timeout, priority, description")


class FlowFileError(YamlError):
    """A flow file that cannot be run; says file, line and column."""


def duration_ms(text):
    """A duration's milliseconds (FOREVER for "forever"), or None: C's
    sl_duration_parse, a number as strtod reads it, then a unit."""
    if text == "forever":
        return FOREVER
    m = _DURATION.fullmatch(text or "")
    if not m:
        return None
    number, unit = m.group(1), m.group(2)
    n = float.fromhex(number) if number[1:2] in ("x", "X") else float(number)
    total = n * dict(_UNITS)[unit]
    return int(total) if total <= 9.2e18 else None


def program_name_error(program):
    if not program:
        return "the program is empty"
    if len(program.encode()) > PROGRAM_NAME_MAX_BYTES:
        return f"program '{program[:40]}...' is over " \
               f"{PROGRAM_NAME_MAX_BYTES} bytes"
    if "/" in program and program[0] != "/":
        return (f"program '{program}' is a relative path: give a bare name "
                "(looked up in the worker's path) or an absolute path")
    if "/../" in program or "/./" in program or \
            program.endswith("/..") or program.endswith("/."):
        return f"program '{program}' has a '.' or '..' part"
    return None


def is_inside(path):
    """A relative path inside the working folder (no '.' or '..' part)."""
    if not path or path[0] == "/":
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def is_name(s, allow_dots=False):
    """C's sl_flow_is_name: a letter or _, then letters, digits, _ and -
    (and . if allowed), at most 128 bytes."""
    ok = "_-." if allow_dots else "_-"
    return 0 < len(s.encode()) <= 128 and (
        s[0] == "_" or s[0].isascii() and s[0].isalpha()) and \
        all(c in ok or c.isascii() and c.isalnum() for c in s[1:])


def is_env_name(s):
    return bool(s) and (s[0] == "_" or s[0].isascii() and s[0].isalpha()) \
        and all(c == "_" or c.isascii() and c.isalnum() for c in s)


class _Reader:
    def __init__(self, doc):
        self.doc = doc

    def fail(self, node, msg):
        raise FlowFileError(f"{self.doc.at(node)}: {msg}")

    def string(self, node, what):
        if node.kind != "scalar" or (node.plain and node.text == ""):
            self.fail(node, f"{what} must be a string")
        return node.text

    def typed(self, node, want):
        if node.kind != "scalar":
            return None
        if self.doc.type_of(node) != want:
            return None
        return self.doc.scalar(node)

    def boolean(self, node, what):
        v = self.typed(node, "bool")
        if v is None:
            self.fail(node, f"{what} must be true or false")
        return v

    def integer(self, node, what, lo, hi):
        v = self.typed(node, "int")
        if v is None or not lo <= v <= hi:
            self.fail(node, f"{what} must be an integer from {lo} to {hi}")
        return v

    def duration(self, node, what, is_ttl):
        ms = duration_ms(node.text) if node.kind == "scalar" else None
        if ms is None:
            self.fail(node, f"{what} must be a duration like 500ms, 30s, "
                      f"10m, 1h or 7d{', or forever' if is_ttl else ''}")
        if is_ttl and ms == 0:
            self.fail(node, f"{what} of 0 is refused: give a positive "
                      "duration or forever")
        if not is_ttl and ms == FOREVER:
            self.fail(node, f"{what} cannot be forever")
        return ms

    def mapping(self, node, what):
        """node's pairs as (key text, key node, value node); the keys must
        be strings and all different."""
        if node.kind != "map":
            self.fail(node, f"{what} must be a mapping")
        seen, out = set(), []
        for k, v in node.items:
            if k.kind != "scalar":
                self.fail(k, f"{what}: keys must be strings")
            self.doc.type_of(k)
            if k.text in seen:
                self.fail(k, f"{what}: key '{k.text}' appears twice")
            seen.add(k.text)
            out.append((k.text, k, v))
        return out

    def value(self, node):
        return self.doc.value(node)

    # the flow

    def flow(self, root, file):
        if root is None:
            raise FlowFileError(f"{file}: the file is empty")
        msg = pb.Flow(file=file, cache_namespace="default",
                      ttl_ms=DEFAULT_TTL_MS)
        tasks = None
        for key, k, v in self.mapping(root, "a flow file"):
            if key == "flow":
                msg.name = self.string(v, "flow")
            elif key == "cache":
                self.cache(v, msg)
            elif key == "params":
                self.params(v, msg)
            elif key == "tasks":
                tasks = v
            elif key != "description":
                self.fail(k, f"unknown key '{key}' (known: flow, "
                          "description, cache, params, tasks)")
        if not msg.name:
            self.fail(root, "the file has no 'flow: NAME'")
        if tasks is None:
            self.fail(root, "the file has no 'tasks:'")
        if tasks.kind != "map":
            self.fail(tasks, "tasks must be a mapping")
        if not tasks.items:
            self.fail(tasks, "tasks is empty")
        if len(tasks.items) > MAX_NODES:
            self.fail(tasks, f"more than {MAX_NODES} tasks")
        names = set()
        for k, body in tasks.items:
            name = self.string(k, "a task name")
            if name in names:
                self.fail(k, f"node '{name}' is defined twice")
            names.add(name)
            self.node(msg.nodes.add(), name, k, body)
        return msg

    def cache(self, node, msg):
        url = ns = None
        for key, k, v in self.mapping(node, "cache"):
            if key == "url":
                url = self.string(v, "cache url")
            elif key == "namespace":
                ns = self.string(v, "cache namespace")
                msg.cache_namespace = ns
            elif key == "ttl":
                msg.ttl_ms = self.duration(v, "cache ttl", True)
            else:
                self.fail(k, f"cache: unknown key '{key}' (known: url, "
                          "namespace, ttl)")
        if url is not None:
            if not url.startswith(("redis://", "lmdb://")):
                self.fail(node, f"cache url '{url}' must start with "
                          "redis:// or lmdb://")
            msg.cache_url = url
        if ns is not None and not is_name(ns, True):
            self.fail(node, f"cache namespace '{ns}' is not a name "
                      "(letters, digits, _, - and .)")

    def params(self, node, msg):
        if node.kind != "map":
            self.fail(node, "params must be a mapping")
        seen = set()
        for k, v in node.items:
            name = self.string(k, "a parameter name")
            if name in seen:
                self.fail(k, f"parameter '{name}' is declared twice")
            seen.add(name)
            value = self.value(v)
            if not is_name(name):
                self.fail(k, f"parameter name '{name}' is not a name "
                          "(letters, digits, _ and -)")
            msg.params.add(name=name, value=values.to_wire(
                value, f"{self.doc.at(k)}: parameter '{name}'"))

    def node(self, n, name, kn, body):
        n.name = name
        n.line, n.column = kn.line, kn.column
        n.retry_delay_ms = DEFAULT_RETRY_DELAY_MS
        parts = {}
        run = args = map_ = inputs = cache_key = None
        has_mode = False
        for key, k, v in self.mapping(body, f"task '{name}'"):
            if key == "run":
                run = self.string(v, "run")
            elif key == "args":
                args = v
            elif key == "map":
                map_ = v
            elif key in ("cmd", "sh", "stdout", "env", "outputs"):
                parts[key] = v
            elif key == "inputs":
                inputs = v
            elif key == "description":
                pass
            elif key == "cache":
                modes = {"inputs": pb.FlowNode.INPUTS,
                         "key": pb.FlowNode.KEY, "none": pb.FlowNode.NONE}
                if v.kind != "scalar" or v.text not in modes:
                    self.fail(v, "cache must be inputs, key or none")
                n.cache = modes[v.text]
                has_mode = True
            elif key == "cache_key":
                cache_key = n.cache_key = self.string(v, "cache_key")
            elif key == "ttl":
                n.ttl_ms = self.duration(v, "ttl", True)
            elif key == "refresh":
                n.refresh = self.boolean(v, "refresh")
            elif key == "validate":
                if v.kind != "scalar" or v.text != "inputs":
                    self.fail(v, "validate must be 'inputs'")
                n.validate_inputs = True
            elif key == "retries":
                n.retries = self.integer(v, "retries", 0, 100)
            elif key == "retry_delay":
                n.retry_delay_ms = self.duration(v, "retry_delay", False)
            elif key == "timeout":
                ms = self.duration(v, "timeout", False)
                if ms == 0:
                    self.fail(v, "timeout of 0 is refused: leave it out for "
                              "none")
                n.timeout_ms = ms
            elif key == "priority":
                n.priority = self.integer(v, "priority", -1000000, 1000000)
            else:
                self.fail(k, f"task '{name}': unknown key '{key}' (known: "
                          f"{NODE_KEYS})")
        if cache_key is not None and not has_mode:
            n.cache = pb.FlowNode.KEY
        self.call(n, name, kn, body, run, args, parts)
        if map_ is not None:
            self.map(n, name, map_)
        if inputs is not None:
            if inputs.kind != "seq":
                self.fail(inputs, f"task '{name}': inputs must be a list of "
                          "paths")
            n.inputs.CopyFrom(values.to_wire(self.value(inputs)))

    def call(self, n, name, kn, body, run, args, parts):
        calls = (run is not None) + ("cmd" in parts) + ("sh" in parts)
        if calls == 0:
            self.fail(body, f"task '{name}' has no 'run' (the task to call), "
                      "'cmd' (a program) or 'sh' (a shell line)")
        if calls > 1:
            self.fail(body, f"task '{name}' has more than one of 'run', 'cmd' "
                      "and 'sh'")
        is_program = "cmd" in parts or "sh" in parts
        only = parts.get("outputs") or parts.get("env") or \
            parts.get("stdout")
        if not is_program and only is not None:
            self.fail(only, f"task '{name}': stdout, env and outputs are for "
                      "programs (cmd or sh)")
        if is_program:
            argv = self.program(name, parts, args)
            run = f"{PROGRAM_TASK}@1"
        elif args is not None and args.kind != "seq":
            self.fail(args, f"task '{name}': args must be a list")
        else:
            argv = self.value(args) if args is not None else []
        task, _, version = run.partition("@")
        if "@" in run and not (version.isdigit() and version.isascii()
                               and 1 <= int(version) <= 1000000000):
            self.fail(kn, f"node '{name}': task '{run}' has a bad version "
                      "(write name@N, N >= 1)")
        n.task, n.version = task, int(version) if version else 0
        n.args.CopyFrom(values.to_wire(argv, f"{self.doc.at(kn)}: task "
                                       f"'{name}': args"))

    def map(self, n, name, node):
        pairs = self.mapping(node, "map")
        if not pairs:
            self.fail(node, f"node '{name}': map is empty")
        for var, k, v in pairs:
            self.string(k, "a map variable")
            if v.kind == "map" or (v.kind == "scalar" and
                                   (not v.text.startswith("$")
                                    or not v.plain)):
                self.fail(v, f"node '{name}': map variable '{var}' must be "
                          "a list or a reference like $node")
            n.map.add(name=var, source=values.to_wire(self.value(v)))

    # programs: a call of exec@1, [argv, input, env, stdout(, outputs)]

    def text(self, node, what):
        if node.kind != "scalar":
            self.fail(node, f"{what} must be text or a reference like $x")
        return node.text

    def program(self, name, parts, args):
        how = parts["stdout"].text if "stdout" in parts else "json"
        input_ = []
        if args is not None:
            if args.kind != "seq":
                self.fail(args, f"task '{name}': args must be a list")
            input_ = self.value(args)
        if how not in ("json", "text", "bytes"):
            self.fail(parts["stdout"], f"task '{name}': stdout must be json, "
                      "text or bytes")
        if "cmd" in parts:
            argv = self.cmd(name, parts["cmd"])
        else:
            line = parts["sh"]
            if line.kind != "scalar" or not line.text:
                self.fail(line, f"task '{name}': sh must be a shell line")
            argv = [PROGRAM_SHELL, "-c", line.text, "sh"] + list(input_)
        env = {}
        if "env" in parts:
            for var, k, v in self.mapping(parts["env"], "env"):
                if not is_env_name(var):
                    self.fail(k, f"task '{name}': env name '{var}' is not a "
                              "variable name (letters, digits and _)")
                env[var] = self.text(v, "an env value")
        call = [argv, input_, env, how]
        if "outputs" in parts:
            call.append(self.outputs(name, parts["outputs"]))
        return call

    def cmd(self, name, node):
        if node.kind != "seq":
            self.fail(node, f"task '{name}': cmd must be a list: [program, "
                      "argument, ...]")
        if not node.items:
            self.fail(node, f"task '{name}': cmd is empty")
        if len(node.items) > ARGV_MAX_COUNT:
            self.fail(node, f"task '{name}': cmd has more than "
                      f"{ARGV_MAX_COUNT} elements")
        argv = [self.text(e, "each element of cmd") for e in node.items]
        why = None if argv[0].startswith("$") else \
            program_name_error(argv[0])
        if why:
            self.fail(node.items[0], f"task '{name}': {why}")
        return argv

    def outputs(self, name, node):
        if node.kind != "seq":
            self.fail(node, f"task '{name}': outputs must be a list of paths")
        if len(node.items) > OUTPUTS_MAX_COUNT:
            self.fail(node, f"task '{name}': more than {OUTPUTS_MAX_COUNT} "
                      "outputs")
        out = []
        for e in node.items:
            path = self.text(e, "each output")
            if not path.startswith("$") and not is_inside(path):
                self.fail(e, f"task '{name}': output '{path}' is not a "
                          "relative path inside the working folder")
            out.append(path)
        return out


def parse(text, file="<flow>"):
    """A flow file's text as a Flow message; FlowFileError says what is
    wrong and where."""
    if len(text.encode()) > MAX_BYTES:
        raise FlowFileError(f"{file}: {len(text.encode())} bytes, over the "
                            f"cap of {MAX_BYTES}")
    try:
        doc = Document(text, file)
        return _Reader(doc).flow(doc.root, file)
    except FlowFileError:
        raise
    except YamlError as err:
        raise FlowFileError(str(err)) from None
    except ValueError as err:   # a value the wire refuses
        raise FlowFileError(str(err)) from None


def load(path):
    """The flow file at path as a Flow message."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise FlowFileError(f"{path}: {err.strerror}") from None
    try:
        text = data.decode()
    except UnicodeDecodeError as err:
        raise FlowFileError(f"{path}: not UTF-8 (byte {err.start})") \
            from None
    return parse(text, path)


def param(text):
    """NAME=VALUE (VALUE read as YAML, as `sluice run --param` reads it)
    as a Param."""
    from . import yamlcore
    name, eq, value = text.partition("=")
    if not eq or not name:
        raise FlowFileError(f"--param '{text}': want NAME=VALUE")
    return pb.Param(name=name, value=values.to_wire(yamlcore.load(value)))


__all__ = ["parse", "load", "param", "FlowFileError", "duration_ms"]
