"""How deep an HTML page nests, measured before it is parsed.

The HTML parser's time grows with the number of elements times their depth (100,000
nested `<div>`s: 52 s; 20,000: 1 s; 5,000: 0.03 s), so a page nested deeper than a limit
is refused unparsed.

The measure is an upper bound on the tree's depth that a byte scan can compute: per tag
name, the start tags not yet closed by an end tag of the same name (an end tag closes at
most its own element when one is open, and is otherwise ignored, as the parser does),
summed over the names. Void elements (`<br>`) open nothing; elements whose end tag is
optional (`<p>`, `<li>`, `<td>`…) are not counted either, since the parser closes an open
one when the next starts (two of them nest only with a counted element between), so an
unclosed list of them is a list, not a nest.

Cost: a page with fewer tags than the limit cannot nest deeper and is passed on one
byte count; otherwise tag names are listed by one regular expression pass and walked,
about 1% of the ingest of a 5,000-item page (bench/README.md).
"""

from __future__ import annotations

import re

_VOID = b"area base br col embed hr img input link meta param source track wbr keygen"
_OPTIONAL_END = b"p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption"
_IMPLIED = b"rb rt rp rtc html head body"
_UNCOUNTED = frozenset(
    name
    for names in (_VOID, _OPTIONAL_END, _IMPLIED)
    for word in names.split()
    for name in (word, b"/" + word)
)
_TAG = re.compile(rb"<(/?[A-Za-z][A-Za-z0-9-]*)")


def too_deep(body: bytes, limit: int) -> int | None:
    """The depth found if `body` nests deeper than `limit` (counting stops there),
    else None."""
    if body.count(b"<") <= limit:
        return None
    opened: dict[bytes, int] = {}
    closing: dict[bytes, bytes] = {}  # b"/Div" -> b"div", made once per spelling
    level = 0
    for name in _TAG.findall(body):
        if name in _UNCOUNTED:
            continue
        if name[0] == 0x2F:  # "/": closes one of its name, if one is open
            key = closing.get(name)
            if key is None:
                key = closing[name] = name[1:].lower()
            if opened.get(key):
                opened[key] -= 1
                level -= 1
            continue
        if not name.islower():
            name = name.lower()
        opened[name] = opened.get(name, 0) + 1
        level += 1
        if level > limit:
            return level
    return None
