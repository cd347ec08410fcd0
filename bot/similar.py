"""Which search results are close enough to a new title to call them possible duplicates.

A service's search ranks by relevance but returns loosely related items too; a
user should only be stopped when an existing item says nearly the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import TypeVar

_WORD = re.compile(r"[^\W_]+")
_SUFFIXES = ("ing", "es", "ed", "s")
_STOPWORDS = frozenset(
    {
        *("a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "with", "from"),
        *("by", "is", "are", "be", "it", "its", "this", "that", "i", "my", "me", "we", "you"),
        *("your", "when", "while", "can", "cannot", "can't", "not", "no"),
    }
)
WORD_OVERLAP = 0.5
SPELLING = 0.75

T = TypeVar("T")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def similarity(a: str, b: str) -> float:
    """0..1: shared significant words (Jaccard), or near-identical spelling."""
    left, right = words(a), words(b)
    overlap = len(left & right) / len(left | right) if left and right else 0.0
    spelling = SequenceMatcher(None, a.lower().strip(), b.lower().strip()).ratio()
    return max(overlap, spelling if spelling >= SPELLING else 0.0)


def close_matches(
    query: str, candidates: Sequence[T], title: str = "title", limit: int = 3
) -> list[T]:
    """The candidates (objects with a `title` attribute) close to `query`, closest first."""
    scored = [
        (similarity(query, getattr(c, title)), index, c) for index, c in enumerate(candidates)
    ]
    close = [item for item in scored if item[0] >= WORD_OVERLAP]
    close.sort(key=lambda item: (-item[0], item[1]))
    return [c for _, _, c in close[:limit]]
