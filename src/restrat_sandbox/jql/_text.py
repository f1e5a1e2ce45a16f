"""The ``~`` (CONTAINS) operator: a small, documented stand-in for Jira's Lucene text search.

- Field text and search term are split into words (Unicode letters and digits, casefolded).
- Every word of the term must occur somewhere in the field, in any order.
- English stop words ("the", "a", "of" ...) in the term are ignored, as Lucene's analyser does.
- A trailing ``*`` makes a prefix (``"win*"`` matches "Windows").
- A phrase quoted inside the term (``summary ~ "\\"login page\\""``) must occur word for word.
- Not modelled: stemming, fuzzy ``~``, ``?`` and inner wildcards, boolean syntax in the term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"')
_STOP_TEXT = """a an and are as at be but by for if in into is it no not of on or such that the
    their then there these they this to was will with"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class Document:
    """A field's words as a set, and as one space-padded string for prefix and phrase tests."""

    vocabulary: frozenset[str]
    padded: str  # " w1 w2 w3 ": " pay" finds a prefix, " login page " a phrase, in C


@lru_cache(maxsize=1 << 18)
def document(text: str) -> Document:
    words = _WORD.findall(text.casefold())
    return Document(frozenset(words), " " + " ".join(words) + " ")


@dataclass(frozen=True, slots=True)
class TextTerm:
    """A parsed ``~`` term: whole words to find, plus substrings of ``Document.padded``."""

    words: frozenset[str]
    needles: tuple[str, ...]  # " prefix" for a trailing *, " a phrase " for a quoted phrase

    def matches(self, doc: Document) -> bool:
        return self.words <= doc.vocabulary and all(n in doc.padded for n in self.needles)

    @property
    def is_void(self) -> bool:
        """True when nothing is left to search for (only stop words): Lucene matches nothing."""
        return not (self.words or self.needles)


def parse_term(text: str) -> TextTerm | None:
    """Parse a ``~`` term; None when it has no word at all (Jira rejects an empty search)."""
    if not _WORD.search(text.casefold()):
        return None
    needles = [document(m).padded for m in _PHRASE.findall(text) if _WORD.search(m.casefold())]
    words: set[str] = set()
    for chunk in _PHRASE.sub(" ", text).split():
        found = _WORD.findall(chunk.casefold())
        if found and chunk.endswith("*"):
            needles.append(" " + found.pop())
        words.update(w for w in found if w not in STOP_WORDS)
    return TextTerm(frozenset(words), tuple(needles))
