"""Highlighting: which words of a description a query marks (its words, their synonyms,
the catalogue words they extend, and a pinyin query's Chinese), and the snippet of the
description shown under a hit with those words marked."""

import functools
from dataclasses import dataclass, replace

from markupsafe import Markup, escape

from app.search import text
from app.search.synonyms import Synonyms
from app.search.words import analyze, catalogue_parts


@dataclass(frozen=True)
class HighlightTerms:
    """What marks a word of a description: its analysed form (crabs -> crab) among
    `latin`; a query word inside it (鸡 in 文昌鸡) among `chinese`; or its pinyin (whole,
    or a dictionary sub-word's: 文昌市 for wenchang) among `pinyin`."""

    latin: frozenset[str] = frozenset()
    chinese: frozenset[str] = frozenset()
    pinyin: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.latin or self.chinese or self.pinyin)

    def marks(self, word: str) -> bool:
        if text.has_cjk(word):
            return any(term in word for term in self.chinese) or bool(
                self.pinyin and not self.pinyin.isdisjoint(_pinyin_readings(word))
            )
        return not self.latin.isdisjoint(_analyzed(word.lower()))


def highlight_terms(query: str, known: Synonyms | None = None, reader=None) -> HighlightTerms:
    """The words of a query (and of its synonyms and catalogue parts) as HighlightTerms."""
    phrases = [query.lower()]
    if known:
        phrases += [o for piece in (query.lower(), *query.lower().split()) for o in known.of(piece)]
        phrases += [
            o for piece in query.lower().split() for w in analyze(piece) for o in known.of(w)
        ]
    latin, chinese, pinyin = set(), set(), set()
    syllables = text.pinyin_syllables()
    for phrase in phrases:
        for piece in phrase.split():
            if piece.isascii():
                latin.add(piece)  # also found as typed where its stem is no substring
            for word in analyze(piece):
                if not text.has_cjk(word):
                    latin.add(word)
                elif len(word) > 1 or word == piece:
                    # A lone character jieba cut off an unknown word (干 of 荔枝干, 地 of
                    # 走地鸡) would mark every word that has it; one typed alone counts.
                    chinese.add(word)
            if reader is not None and all(text.is_cjk(ch) for ch in piece):
                chinese.update(catalogue_parts(piece, reader, known))
            if _pinyin_like(piece, syllables):
                pinyin.add(piece)
        compact = "".join(phrase.split())
        if _pinyin_like(compact, syllables):
            pinyin.add(compact)
    return HighlightTerms(frozenset(latin), frozenset(chinese), frozenset(pinyin))


def _pinyin_like(word: str, syllables: frozenset[str]) -> bool:
    """Pinyin of two or more syllables (wenchang), or initials (wcj); not a lone syllable
    (ji would mark every 鸡, 基 and 机) and not English (coffee)."""
    if not (word.isascii() and word.isalpha()) or len(word) < 2 or word in syllables:
        return False
    return text.is_pinyin(word) or not any(vowel in word for vowel in "aeiouv")


@functools.lru_cache(maxsize=20_000)
def _analyzed(word: str) -> frozenset[str]:
    return frozenset(analyze(word))


@functools.lru_cache(maxsize=20_000)
def _pinyin_readings(word: str) -> frozenset[str]:
    """文昌市 -> {wenchangshi, wcs, wenchang}: the readings a pinyin query of it takes."""
    readings = set()
    for sub, _start, _end in text.segment(word):
        parts = text.syllables(sub)
        if len(parts) > 1:
            readings.add("".join(parts))
    parts = text.syllables(word)
    if len(parts) > 1:
        readings.add("".join(p[0] for p in parts))
    return frozenset(readings)


def for_name(terms: HighlightTerms, name: str | None) -> HighlightTerms:
    """A pinyin query's marks for one hit: the words of its name that the pinyin spells
    (wenchangji -> 文昌鸡), looked for as Chinese words in its description."""
    if not terms.pinyin or not name:
        return terms
    spelled = {
        word
        for word, _start, _end in text.segment(text.normalize(name))
        if text.has_cjk(word) and not terms.pinyin.isdisjoint(_pinyin_readings(word))
    }
    return replace(terms, chinese=terms.chinese | spelled) if spelled else terms


def _rough_spans(haystack: str, terms: HighlightTerms) -> list[tuple[int, int]]:
    """Where query words occur as plain substrings (a stem inside its word: coffe in
    coffees): cheap, to choose the stretch worth segmenting."""
    spans: list[tuple[int, int]] = []
    for probe in sorted(terms.chinese | terms.latin, key=len, reverse=True):
        start = haystack.find(probe)
        while start != -1 and len(spans) < 200:
            spans.append((start, start + len(probe)))
            start = haystack.find(probe, start + len(probe))
    return sorted(spans)


def marked_spans(
    body: str, terms: HighlightTerms, begin: int = 0, end: int | None = None
) -> list[tuple[int, int]]:
    """(start, end) of every whole word of body[begin:end] that a query word marks. Words
    are jieba's segmentation of the text itself (a place name stays whole; search-mode
    fragments would show 三门 of 三门坡) and Latin words whole (coffees, not coffe). A few
    characters either side are segmented too, so the stretch's edges cut as the whole text
    would."""
    end = len(body) if end is None else end
    low, high = max(0, begin - 8), min(len(body), end + 8)
    stretch = text.normalize(body[low:high])
    return [
        (low + start, low + stop)
        for word, start, stop in text.words(stretch)
        if begin <= low + start
        and low + stop <= end
        and any(ch.isalnum() for ch in word)
        and terms.marks(word)
    ]


def snippet(body: str, terms: HighlightTerms, width: int = 120) -> Markup | None:
    """The stretch of the description with the most query words, its marked words marked,
    the rest HTML-escaped. Offsets are the original text's (normalize keeps lengths). Only
    that stretch is segmented (jieba costs about 1 ms per description)."""
    if not body or not terms:
        return None
    rough = _rough_spans(text.normalize(body).lower(), terms)
    if not rough:
        return None
    best = max(rough, key=lambda s: sum(1 for o in rough if s[0] <= o[0] < s[0] + width))
    begin = max(0, best[0] - 30)
    end = min(len(body), max(begin + width, best[1]))
    spans = marked_spans(body, terms, begin, end)
    if not spans:
        return None
    parts, cursor = [], begin
    for start, stop in spans:
        parts.append(escape(body[cursor:start]))
        parts.append(Markup("<mark>%s</mark>") % body[start:stop])
        cursor = stop
    parts.append(escape(body[cursor:end]))
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(body) else ""
    return Markup(prefix) + Markup("").join(parts) + Markup(suffix)
