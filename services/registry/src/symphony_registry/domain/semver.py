"""SemVer 2.0 versions and npm-style ranges (`^1.80.0`, `~1.2`, `>=1.0.0 <2`, `1.x || 2.x`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

# ASCII digits only (`\d` would take "١٠" too, so one version could be published under two
# texts); numbers of at most 10 digits, pre-release ones included, so `sort_key`'s fixed-width
# numbers order them (both found by IN-4).
_SEMVER = re.compile(
    r"^(0|[1-9]\d{0,9})\.(0|[1-9]\d{0,9})\.(0|[1-9]\d{0,9})"
    r"(?:-((?:0|[1-9]\d{0,9}|\d*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9]\d{0,9}|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$",
    re.ASCII,
)
MAX_VERSION_LENGTH = 128


@total_ordering
@dataclass(frozen=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> SemVer | None:
        if not text or len(text) > MAX_VERSION_LENGTH:
            return None
        m = _SEMVER.match(text)
        if not m:
            return None
        pre = tuple(m.group(4).split(".")) if m.group(4) else ()
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre, m.group(5) or "")

    def _key(self) -> tuple[object, ...]:
        pre: tuple[object, ...] = tuple(
            (0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease
        )
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SemVer) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def sort_key(self) -> str:
        """A string whose byte order (COLLATE "C") is SemVer precedence."""
        head = f"{self.major:010d}{self.minor:010d}{self.patch:010d}"
        if not self.prerelease:
            return head + "z"
        parts = "".join(
            ("0" + f"{int(p):010d}" if p.isdigit() else "1" + p) + "!" for p in self.prerelease
        )
        return head + "a" + parts

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text


_PARTIAL = re.compile(
    r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$",
    re.ASCII,
)
_COMPARATOR = re.compile(r"^(\^|~|>=|<=|>|<|=)?\s*(.+)$")
_INF = 10**12

Comparator = tuple[str, SemVer]


def _partial(text: str) -> tuple[list[int | None], tuple[str, ...]] | None:
    m = _PARTIAL.match(text)
    if not m:
        return None
    nums: list[int | None] = []
    for g in m.group(1, 2, 3):
        nums.append(None if g is None or g in "xX*" else int(g))
    # Once a part is a wildcard, the rest are too.
    for i in range(1, 3):
        if nums[i - 1] is None:
            nums[i] = None
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    return nums, pre


def _v(a: int, b: int, c: int, pre: tuple[str, ...] = ()) -> SemVer:
    return SemVer(a, b, c, pre)


def _expand(op: str, text: str) -> list[Comparator] | None:
    parsed = _partial(text)
    if parsed is None:
        return None
    (ma, mi, pa), pre = parsed
    if ma is None:
        return (
            []
            if op in ("", "=", "^", "~", ">=", "<=")
            else ([(">=", _v(0, 0, 0))] if op != "<" else [("<", _v(0, 0, 0))])
        )
    lo = _v(ma, mi or 0, pa or 0, pre)
    if op == "^":
        if ma > 0 or mi is None:
            hi = _v(ma + 1, 0, 0, ("0",))
        elif mi > 0 or pa is None:
            hi = _v(0, mi + 1, 0, ("0",))
        else:
            hi = _v(0, 0, pa + 1, ("0",))
        return [(">=", lo), ("<", hi)]
    if op == "~":
        hi = _v(ma + 1, 0, 0, ("0",)) if mi is None else _v(ma, mi + 1, 0, ("0",))
        return [(">=", lo), ("<", hi)]
    if op in ("", "="):
        if mi is None:
            return [(">=", lo), ("<", _v(ma + 1, 0, 0, ("0",)))]
        if pa is None:
            return [(">=", lo), ("<", _v(ma, mi + 1, 0, ("0",)))]
        return [("=", lo)]
    if op == ">":
        if mi is None:
            return [(">=", _v(ma + 1, 0, 0))]
        if pa is None:
            return [(">=", _v(ma, mi + 1, 0))]
        return [(">", lo)]
    if op == "<=":
        if mi is None:
            return [("<", _v(ma + 1, 0, 0, ("0",)))]
        if pa is None:
            return [("<", _v(ma, mi + 1, 0, ("0",)))]
        return [("<=", lo)]
    return [(op, lo)]


@dataclass(frozen=True)
class Range:
    alternatives: tuple[tuple[Comparator, ...], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> Range | None:
        if text is None or len(text) > 256:
            return None
        raw = text.strip()
        if raw in ("", "*", "x", "X"):
            return cls(((),), raw)
        alternatives = []
        for alt in raw.split("||"):
            alt = alt.strip()
            comparators: list[Comparator] = []
            hyphen = re.match(r"^(\S+)\s+-\s+(\S+)$", alt)
            if hyphen:
                low = _expand(">=", hyphen.group(1))
                high = _expand("<=", hyphen.group(2))
                if low is None or high is None:
                    return None
                comparators = low + high
            else:
                tokens = re.findall(r"(?:\^|~|>=|<=|>|<|=)?\s*[^\s<>=^~]+", alt)
                if not tokens and alt:
                    return None
                if "".join(t.replace(" ", "") for t in tokens) != alt.replace(" ", ""):
                    return None
                for token in tokens:
                    m = _COMPARATOR.match(token.strip())
                    if not m:
                        return None
                    expanded = _expand(m.group(1) or "", m.group(2).strip())
                    if expanded is None:
                        return None
                    comparators.extend(expanded)
            alternatives.append(tuple(comparators))
        return cls(tuple(alternatives), raw)

    def contains(self, version: SemVer, *, include_prerelease: bool = True) -> bool:
        plain = SemVer(version.major, version.minor, version.patch, version.prerelease)
        return any(all(_holds(op, plain, ref) for op, ref in alt) for alt in self.alternatives)


def _holds(op: str, v: SemVer, ref: SemVer) -> bool:
    if op == "=":
        return v == ref
    if op == ">":
        return v > ref
    if op == ">=":
        return v >= ref
    if op == "<":
        return v < ref
    if op == "<=":
        return v <= ref
    return False
