"""Path templates of google/api/http.proto, compiled once into a matcher.

Grammar::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

Matching runs on the raw (still percent-encoded) request path so that an encoded `/` (`%2F`)
can be told apart from a separator. A variable that spans one segment is fully
percent-decoded; one that spans several (`{name=shelves/*}`, `{path=**}`) keeps `%2F` encoded,
as the spec's "reserved expansion" asks, so its literal slashes are the only separators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERAL = re.compile(r"[^/{}*:=]+")
_ENCODED_SLASH = re.compile(r"%2[Ff]")


class TemplateError(ValueError):
    """A path template that does not follow the grammar."""


@dataclass(frozen=True, slots=True)
class Variable:
    """A `{field.path=segments}` capture."""

    field_path: tuple[str, ...]
    segments: tuple[str, ...]  # "*", "**" or literals
    group: int  # regex group index, 1-based

    @property
    def multi_segment(self) -> bool:
        return len(self.segments) > 1 or "**" in self.segments

    @property
    def dotted(self) -> str:
        return ".".join(self.field_path)


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A parsed and compiled template."""

    template: str
    segments: tuple[str | Variable, ...]  # literal, "*", "**" or Variable
    verb: str | None
    variables: tuple[Variable, ...]
    regex: re.Pattern[str]

    @property
    def literal_prefix(self) -> tuple[str, ...]:
        """The leading literal segments, for the router's first-level dispatch."""
        prefix: list[str] = []
        for segment in self.segments:
            if isinstance(segment, Variable) or segment in ("*", "**"):
                break
            prefix.append(segment)
        return tuple(prefix)

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key: more literals first, `**` last, longer first."""
        literals = 0
        deep = 0
        count = 0
        for segment in self.segments:
            parts = segment.segments if isinstance(segment, Variable) else (segment,)
            for part in parts:
                count += 1
                if part == "**":
                    deep += 1
                elif part != "*":
                    literals += 1
        return (-(literals + (1 if self.verb else 0)), deep, -count)

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Match a raw path; returns decoded captures keyed by dotted field path."""
        found = self.regex.fullmatch(raw_path)
        if found is None:
            return None
        return {v.dotted: decode(found.group(v.group), v.multi_segment) for v in self.variables}


def decode(value: str, multi_segment: bool) -> str:
    """Percent-decode a capture; multi-segment captures keep `%2F` encoded."""
    if "%" not in value:
        return value
    if not multi_segment:
        return unquote(value, errors="strict")
    return "%2F".join(unquote(part, errors="strict") for part in _ENCODED_SLASH.split(value))


def _split_top(text: str) -> list[str]:
    """Split on `/` outside braces."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char == "{":
            depth += 1
            if depth > 1:
                raise TemplateError("nested variables are not allowed")
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise TemplateError("unbalanced '}'")
        elif char == "/" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise TemplateError("unbalanced '{'")
    parts.append(text[start:])
    return parts


def _check_plain(segment: str) -> str:
    if segment in ("*", "**"):
        return segment
    if not _LITERAL.fullmatch(segment):
        raise TemplateError(f"invalid segment {segment!r}")
    return segment


def parse(template: str) -> PathTemplate:
    """Parse and compile a template; raises TemplateError."""
    if not template.startswith("/"):
        raise TemplateError(f"template must start with '/': {template!r}")
    body = template[1:]
    verb: str | None = None
    # The verb is the last ':' after the last top-level '/', outside braces.
    depth = 0
    verb_at = -1
    for i, char in enumerate(body):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "/" and depth == 0:
            verb_at = -1
        elif char == ":" and depth == 0:
            verb_at = i
    if verb_at >= 0:
        verb = body[verb_at + 1 :]
        body = body[:verb_at]
        if not _LITERAL.fullmatch(verb):
            raise TemplateError(f"invalid verb {verb!r}")

    segments: list[str | Variable] = []
    variables: list[Variable] = []
    pattern: list[str] = []
    group = 0
    seen_deep = False
    for raw in _split_top(body):
        if not raw:
            raise TemplateError(f"empty segment in {template!r}")
        if seen_deep:
            raise TemplateError("'**' must be the last segment")
        if raw.startswith("{"):
            if not raw.endswith("}"):
                raise TemplateError(f"invalid variable {raw!r}")
            inner = raw[1:-1]
            name, _, sub = inner.partition("=")
            field_path = tuple(name.split("."))
            if not all(_IDENT.fullmatch(p) for p in field_path):
                raise TemplateError(f"invalid field path {name!r}")
            sub_segments = tuple(_check_plain(s) for s in sub.split("/")) if sub else ("*",)
            if "**" in sub_segments[:-1]:
                raise TemplateError("'**' must be the last segment")
            group += 1
            variable = Variable(field_path, sub_segments, group)
            if any(v.field_path == field_path for v in variables):
                raise TemplateError(f"field {name!r} bound twice")
            variables.append(variable)
            segments.append(variable)
            pattern.append("(" + "/".join(_segment_regex(s) for s in sub_segments) + ")")
            seen_deep = "**" in sub_segments
        else:
            segments.append(_check_plain(raw))
            pattern.append(_segment_regex(raw))
            seen_deep = raw == "**"
    regex = "/" + "/".join(pattern) + (":" + re.escape(verb) if verb else "")
    return PathTemplate(template, tuple(segments), verb, tuple(variables), re.compile(regex))


def _segment_regex(segment: str) -> str:
    if segment == "*":
        return "[^/]+"
    if segment == "**":
        return ".*"
    return re.escape(segment)
