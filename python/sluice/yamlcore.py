"""sluice.yamlcore: YAML as flow files, `--param` values and programs'
JSON output are read (docs/FLOWS.md, "The YAML dialect"): YAML 1.2's core
schema, the rules common/yaml_doc.c follows, so that a file gives the same
values, and so the same cache keys, in Python as in C.

PyYAML resolves scalars by YAML 1.1 (yes is true, 017 is 15, 1_000 is
1000, 12:30 is 750, a date is a datetime, << merges maps), so its
resolver and constructors are not used: this module reads libyaml's event
stream (the parser C uses, through PyYAML's CParser where Debian's
python3-yaml has it) and types each scalar itself.

    null   null Null NULL ~ and nothing
    bool   true True TRUE false False FALSE
    int    [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+   (017 is 17)
    float  [-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)?,
           [-+]?(.inf|.Inf|.INF), .nan .NaN .NAN
    str    everything else, anything quoted, and !!str or ! before it

Tags !!null, !!bool, !!int and !!float type a scalar whose text fits the
type (!!int "10" is 10); !!seq and !!map are what they say; any other tag
is refused. A map's keys are their scalars' text, as written."""

import math
import re

import yaml

from . import values

Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CORE = "tag:yaml.org,2002:"
VISIT_BUDGET = 4 * values.MAX_NODES
TAGS_READ = "!!str, !!int, !!float, !!bool, !!null, !!seq, !!map"

_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_NULLS = ("", "~", "null", "Null", "NULL")
_BOOLS = {"true": True, "True": True, "TRUE": True,
          "false": False, "False": False, "FALSE": False}


class YamlError(ValueError):
    """Bad YAML, or YAML outside the dialect; says where."""


def is_int(s):
    return bool(_INT10.fullmatch(s) or _INT8.fullmatch(s)
                or _INT16.fullmatch(s))


def is_float(s):
    return bool(_FLOAT.fullmatch(s) or _INF.fullmatch(s)
                or _NAN.fullmatch(s))


def int_of(s):
    if _INT10.fullmatch(s):
        return int(s, 10)
    return int(s[2:], 8 if s[1] == "o" else 16)


def float_of(s):
    if _INF.fullmatch(s):
        return -math.inf if s[0] == "-" else math.inf
    if _NAN.fullmatch(s):
        return math.nan
    return float(s)


def plain_type(s):
    """The core schema's type of a plain, untagged scalar."""
    if s in _NULLS:
        return "null"
    if s in _BOOLS:
        return "bool"
    if is_int(s):
        return "int"
    if is_float(s):
        return "float"
    return "str"


_FITS = {
    "str": (lambda s: True, "a string"),
    "null": (lambda s: s in _NULLS, "null, Null, NULL, ~ or nothing"),
    "bool": (lambda s: s in _BOOLS, "true or false"),
    "int": (is_int, "an integer (10, 0o12 or 0xA)"),
    "float": (is_float, "a number, .inf or .nan"),
}


def is_plain(event):
    """Whether a scalar was written without quotes or block style (libyaml
    through CParser says "", PyYAML's own parser None)."""
    return event.style in (None, "")


def shown(tag):
    return "!!" + tag[len(CORE):] if tag.startswith(CORE) else tag


NESTING_MAX = values.MAX_DEPTH + 8


class Node:
    """A node of a document as libyaml gives it, not yet typed: a scalar
    (text, tag, and whether it was plain: unquoted and untagged), or a
    "seq" of Nodes, or a "map" of (key Node, value Node) pairs. An alias
    is the very node it names."""
    __slots__ = ("kind", "mark", "text", "tag", "plain", "items")

    def __init__(self, kind, mark, tag, text=None, plain=False):
        self.kind, self.mark, self.tag = kind, mark, tag
        self.text, self.plain, self.items = text, plain, []

    @property
    def line(self):
        return self.mark.line + 1

    @property
    def column(self):
        return self.mark.column + 1


class Document:
    """The first document of a text (YAML or JSON); where names it in
    errors. Its scalars are typed when read, as C types them: value(),
    type_of()."""

    def __init__(self, text, where):
        self.where = where
        self.visits_left = VISIT_BUDGET
        self._events = yaml.parse(text, Loader=Parser)
        self._anchors = {}
        self._depth = 0
        self._next()                            # StreamStart
        event = self._next()
        self.root = None
        if isinstance(event, yaml.DocumentStartEvent):
            self.root = self._node(self._next())

    def fail(self, node, msg):
        raise YamlError(f"{self.at(node)}: {msg}")

    def at(self, node):
        return f"{self.where}:{node.line}:{node.column}"

    def _next(self):
        try:
            return next(self._events)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            what = " ".join(x for x in (e.problem, e.context) if x)
            raise YamlError(f"{self.where}:{mark.line + 1}:"
                            f"{mark.column + 1}: {what}") from None
        except yaml.YAMLError as e:
            raise YamlError(f"{self.where}: {e}") from None

    def _node(self, event):
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self._anchors:
                raise YamlError(f"{self.where}:{mark.line + 1}:"
                                f"{mark.column + 1}: found undefined alias "
                                f"{event.anchor}")
            return self._anchors[event.anchor]
        if isinstance(event, yaml.ScalarEvent):
            node = Node("scalar", mark, event.tag, event.value,
                        is_plain(event))
            if event.anchor is not None:
                self._anchors[event.anchor] = node
            return node
        is_map = isinstance(event, yaml.MappingStartEvent)
        node = Node("map" if is_map else "seq", mark, event.tag)
        if event.anchor is not None:
            self._anchors[event.anchor] = node
        self._depth += 1
        if self._depth > NESTING_MAX:
            raise YamlError(f"{self.where}:{mark.line + 1}:{mark.column + 1}"
                            f": nests deeper than {NESTING_MAX} levels "
                            f"(values: {values.MAX_DEPTH})")
        end = yaml.MappingEndEvent if is_map else yaml.SequenceEndEvent
        while True:
            event = self._next()
            if isinstance(event, end):
                break
            item = self._node(event)
            node.items.append((item, self._node(self._next())) if is_map
                              else item)
        self._depth -= 1
        return node

    def type_of(self, node):
        """A scalar's type: by the core schema's patterns if plain and
        untagged; else by its tag, whose type its text must fit."""
        tag, s = node.tag, node.text
        if node.plain and tag is None:
            return plain_type(s)
        if tag is None or tag == "!":
            return "str"
        name = tag[len(CORE):] if tag.startswith(CORE) else None
        if name not in _FITS:
            self.fail(node, f"tag {shown(tag)} is not read here: flow files "
                      f"are YAML 1.2's core schema ({TAGS_READ})")
        fits, what = _FITS[name]
        if not fits(s):
            self.fail(node, f"'{s}' is not {what}, as {shown(tag)} asks")
        return name

    def scalar(self, node):
        t, s = self.type_of(node), node.text
        if t == "null":
            return None
        if t == "bool":
            return _BOOLS[s]
        if t == "int":
            v = int_of(s)
            if not values.INT_MIN <= v <= values.INT_MAX:
                self.fail(node, f"integer {s} is out of the 64-bit range")
            return v
        if t == "float":
            return float_of(s)
        return s

    def size(self, node, depth, sizes):
        """The nodes a walk of node visits, aliases expanded: counted once
        per node (sizes), not by walking, so a small file that expands to
        billions is refused at once."""
        if depth > values.MAX_DEPTH:    # also where an alias loops
            self.fail(node, f"value nests deeper than {values.MAX_DEPTH}")
        n = sizes.get(id(node))
        if n is None:
            items = node.items if node.kind == "seq" else \
                [v for _, v in node.items]
            n = 1 + sum(self.size(i, depth + 1, sizes) for i in items)
            sizes[id(node)] = n
        return n

    def value(self, node, depth=1):
        """node as a sluice value at depth (1 at the top), within the depth
        cap and the document's visit budget (an alias counts each time)."""
        if depth > values.MAX_DEPTH:
            self.fail(node, f"value nests deeper than {values.MAX_DEPTH}")
        if depth == 1 and node.kind != "scalar" and \
                self.size(node, 1, {}) > self.visits_left:
            # the walk below would run out: say so before it starts
            self.visits_left = 0
        if self.visits_left == 0:
            self.fail(node, f"file expands to more than {VISIT_BUDGET} "
                      "values (aliases?)")
        self.visits_left -= 1
        if node.kind == "scalar":
            return self.scalar(node)
        want = "map" if node.kind == "map" else "seq"
        if node.tag not in (None, "!", CORE + want):
            self.fail(node, f"tag {shown(node.tag)} is not read here: flow "
                      f"files are YAML 1.2's core schema ({TAGS_READ})")
        if node.kind == "seq":
            return [self.value(item, depth + 1) for item in node.items]
        out = {}
        for k, v in node.items:
            if k.kind != "scalar":
                self.fail(k, "map keys must be strings")
            self.type_of(k)     # a key is its text; its tag must be read
            if k.text in out:
                self.fail(k, f"key '{k.text}' appears twice")
            out[k.text] = self.value(v, depth + 1)
        return out


def load(text, where=None):
    """text (YAML or JSON) as a sluice value, read as C reads a `--param`
    value: null for an empty text; YamlError names where it went wrong."""
    if where is None:
        first = text.split("\n", 1)[0]
        cut = first[:60] + ("..." if len(first) > 60 or "\n" in text else "")
        where = f"value '{cut}'"
    doc = Document(text, where)
    return None if doc.root is None else doc.value(doc.root)
