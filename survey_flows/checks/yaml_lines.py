"""YAML for flow files: parse keeping line numbers, find the line of a key or value, and say in
plain words what a YAML syntax error means.

Flow files are parsed with ruamel.yaml's round-trip loader because it remembers where every
key and item stands; each problem the checker reports needs that line. Nothing here knows what
a flow is.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

# Words in ruamel's error messages, and what they mean to someone editing a flow file.
_YAML_WORDS = (
    ("found duplicate key", "appears twice in the same block; keep only one of them"),
    (
        "mapping values are not allowed",
        "a colon followed by a space (': ') cannot appear here; if this is a text, "
        'put the whole text in double quotes, e.g. ask: "Note: ..."',
    ),
    ("found character '\\t'", "a tab is used here; indent with spaces, never tabs"),
    ("could not find expected ':'", "a line lacks its colon (key: value), or a quote is open"),
    ("expected <block end>", "the indentation here does not line up with the lines above"),
    ("did not find expected key", "the indentation here does not line up with the lines above"),
    ("did not find expected '-'", "this list item does not line up with the items above it"),
    ("expected the node content", "a [ or { here is never closed"),
    ("'<stream end>'", "a [ or { here is never closed"),
    ("expected ',' or", "the items inside [ ] or { } must be separated by commas"),
    ("found undefined alias", "a *name refers to an &name anchor that is not defined"),
    ("expected a single document", "the file holds more than one document (a second ---)"),
    ("found unexpected end of stream", "a quoted text starting here is never closed"),
    ("that cannot start any token", "a value cannot start with this character; quote it"),
)


def load_yaml(text: str) -> Any:
    """The YAML document in `text`, with line numbers; duplicate keys are an error."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml.load(text)


def yaml_problem(error: Exception, text: str) -> tuple[int, str]:
    """The line and a plain-words message for an error ruamel.yaml raised."""
    if isinstance(error, MarkedYAMLError):
        problem = str(error.problem or error.context or "")
        mark = error.problem_mark or error.context_mark
        if ("end of stream" in problem or "<stream end>" in problem) and error.context_mark:
            mark = error.context_mark  # where the unclosed quote or bracket opened
        line = mark.line + 1 if mark is not None else 1
        for needle, words in _YAML_WORDS:
            if needle in problem or needle in str(error.context or ""):
                if needle == "found duplicate key":
                    key = re.search(r'key "(.*?)" with', problem)
                    words = f"`{key.group(1) if key else '?'}` {words}"
                return line, f"the file is not valid YAML: {words} (YAML says: {problem})"
        return line, f"the file is not valid YAML: {problem}"
    position = getattr(error, "position", None)
    if isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        return line, (
            "the file contains a control character that text files cannot hold; "
            "retype this line or save the file as plain UTF-8 text"
        )
    if isinstance(error, RecursionError):
        return 1, "the file is nested too deeply to be a survey flow"
    return 1, f"the file is not valid YAML: {error}"


def key_line(node: Any, key: object = None) -> int:
    """1-based line of `key` in a mapping (or item `key` of a list), else of the node itself."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return 1
    try:
        if isinstance(node, CommentedSeq) and isinstance(key, int):
            return int(lc.item(key)[0]) + 1
        if key is not None and key in node:
            return int(lc.key(key)[0]) + 1
    except (KeyError, TypeError, IndexError):
        pass
    return int(lc.line or 0) + 1


def value_line(node: Any, key: object) -> int:
    """1-based line where the value of `key` starts (for flow-style and block values alike)."""
    try:
        return int(node.lc.value(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return key_line(node, key)
