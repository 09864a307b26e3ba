"""Names: syntax, reserved words, confusable skeletons and similarity.

A name's *skeleton* is what a reader sees: NFKC, case-folded, Unicode confusables mapped to
their Latin look-alikes (Cyrillic `а` → `a`, `0` → `o`, `1`/`I` → `l`, `rn` → `m`) and
separators (`-`, `_`, `.`, `~`) dropped. Two namespaces with the same skeleton are one too many.
"""

from __future__ import annotations

import re
import unicodedata

NAME_RE = re.compile(r"^[\w\-+$~]+$")
MAX_NAME_LENGTH = 255

RESERVED_NAMESPACES = frozenset(
    {
        "-",
        "admin",
        "administrator",
        "api",
        "extension",
        "extensions",
        "latest",
        "namespace",
        "namespaces",
        "openvsx",
        "open-vsx",
        "pre-release",
        "publish",
        "publisher",
        "query",
        "registry",
        "reviews",
        "root",
        "search",
        "symphony",
        "system",
        "user",
        "users",
        "v1",
        "www",
        "microsoft",
        "ms-vscode",
        "vscode",
        "github",
        "eclipse",
        "eclipse-theia",
        "support",
        "security",
        "official",
    }
)
RESERVED_VERSIONS = frozenset({"latest", "pre-release", "reviews"})

# Look-alikes of Latin letters (a hand-picked subset of Unicode's confusables.txt covering
# Cyrillic, Greek, full-width forms are handled by NFKC) and digits.
_CONFUSABLES = {
    "а": "a",
    "в": "b",
    "с": "c",
    "е": "e",
    "ё": "e",
    "һ": "h",
    "і": "l",
    "ї": "l",
    "ј": "j",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "ԛ": "q",
    "ѕ": "s",
    "т": "t",
    "у": "y",
    "х": "x",
    "ԝ": "w",
    "ү": "y",
    "ɡ": "g",
    "ı": "l",
    "ℓ": "l",
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "l",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ϲ": "c",
    "ԁ": "d",
    "ɑ": "a",
    "ɩ": "l",
    "ꞵ": "b",
    "0": "o",
    "1": "l",
    "i": "l",
    "|": "l",
    "5": "s",
    "$": "s",
    "3": "e",
    "@": "a",
}
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SEPARATORS = str.maketrans("", "", "-_.~+")


def is_valid_name(name: str) -> bool:
    return (
        bool(name)
        and len(name) <= MAX_NAME_LENGTH
        and NAME_RE.fullmatch(name) is not None
        and all(unicodedata.category(ch)[0] != "C" for ch in name)
    )


def _scripts(name: str) -> set[str]:
    scripts = set()
    for ch in name:
        if ch.isalpha():
            try:
                scripts.add(unicodedata.name(ch).split(" ", 1)[0])
            except ValueError:
                scripts.add("UNKNOWN")
    return scripts


def is_mixed_script(name: str) -> bool:
    """Latin mixed with Cyrillic or Greek letters: the classic spoof."""
    return len(_scripts(name) & {"LATIN", "CYRILLIC", "GREEK"}) > 1


def skeleton(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(_CONFUSABLES.get(ch, ch) for ch in text)
    text = text.translate(_SEPARATORS)
    for pair, single in _MULTI:
        text = text.replace(pair, single)
    # Strip combining marks left after decomposition (é → e).
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return text


def levenshtein(a: str, b: str, limit: int | None = None) -> int:
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        best = i
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            current.append(value)
            best = min(best, value)
        if limit is not None and best > limit:
            return best
        previous = current
    return previous[-1]


def too_similar(a: str, b: str, threshold: float = 0.2) -> bool:
    """Open VSX's rule: edit distance of the skeletons relative to the longer one at most
    `threshold`, for names long enough for that to mean something (≥ 5 characters)."""
    sa, sb = skeleton(a), skeleton(b)
    if sa == sb:
        return True
    longest = max(len(sa), len(sb))
    if longest < 5:
        return False
    limit = int(longest * threshold)
    return levenshtein(sa, sb, limit) <= limit
