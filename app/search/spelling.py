"""Did you mean: a spelling correction for a query that found nothing, from the Latin words
(English and pinyin) of the catalogue's names."""

import functools
from collections import Counter

from app.search import text


def did_you_mean(searcher, query: str) -> str | None:
    """A spelling correction for a query that found nothing, or None: each misspelt
    English or pinyin word is replaced by the closest catalogue word (English words of
    names, pinyin of names) when that word is close (see correction_for). Asked only when
    nothing matched: it reads the whole spelling dictionary."""
    vocabulary = _spelling_vocabulary(searcher.reader())
    changed = False
    words = []
    for word in query.lower().split():
        found = correction_for(word, vocabulary)
        if found:
            words.append(found)
            changed = True
        else:
            words.append(word)
    return " ".join(words) if changed else None


def max_edits(length: int) -> int:
    """Edits (Damerau-Levenshtein) allowed for a word of this many letters: none up to 3
    (li, xyz, tea: too short to tell a typo from another word), 1 for 4-5 letters, 2 from
    6 on. Commonly used cut-offs (Lucene's fuzzy AUTO and Elasticsearch's `fuzziness:
    AUTO` allow 1 edit from 3 letters, 2 from 6; we start at 4 because pinyin syllables make
    almost every 3-letter string one edit from a catalogue word)."""
    if length <= 3:
        return 0
    return 1 if length <= 5 else 2


def correction_for(word: str, vocabulary: dict[str, int]) -> str | None:
    """The vocabulary word closest to `word` (fewest edits, then most frequent), if the
    word is Latin letters only, unknown, and the candidate is within max_edits, of the same
    script, and not a lone pinyin syllable (lime is never li, bean never bian). A word
    made of pinyin syllables is reached with a second edit only when both are of the kind
    pinyin typing makes (letters swapped, one dropped or doubled: wanign -> wanning), so
    an English word is not bent into a place's pinyin (salmon is not sanmen)."""
    from whoosh.support.levenshtein import damerau_levenshtein

    if not (word.isascii() and word.isalpha()) or word in vocabulary:
        return None
    limit = max_edits(len(word))
    if not limit:
        return None
    letters = _letter_set(word)
    best: tuple[int, int, str] | None = None
    for candidate, frequency in vocabulary.items():
        if abs(len(candidate) - len(word)) > limit:
            continue
        # An edit changes at most two of the letters a word has (a substitution drops
        # one, brings one), so words whose letter sets differ in more than 2 * limit are
        # out of reach: a bit count rather than an edit distance per word of the
        # vocabulary (most of a misspelt query's time at 100,000 listings).
        if (letters ^ _letter_set(candidate)).bit_count() > 2 * limit:
            continue
        distance = damerau_levenshtein(word, candidate, limit + 1)
        if distance > 1 and text.is_pinyin(candidate) and _letters_apart(word, candidate) > 1:
            continue
        if distance <= limit and (best is None or (distance, -frequency) < best[:2]):
            best = (distance, -frequency, candidate)
    return best[2] if best else None


@functools.lru_cache(maxsize=50_000)
def _letter_set(word: str) -> int:
    """The letters a word has, as bits (a -> 1 << 1, b -> 1 << 2...; case ignored)."""
    bits = 0
    for ch in word:
        bits |= 1 << (ord(ch) & 31)
    return bits


def _letters_apart(first: str, second: str) -> int:
    """How many letters one word has that the other lacks (order aside)."""
    a, b = Counter(first), Counter(second)
    return sum(((a - b) + (b - a)).values())


_vocabularies: dict[int, tuple[object, dict[str, int]]] = {}


def _spelling_vocabulary(reader) -> dict[str, int]:
    """word -> document frequency for the Latin words of the spelling field, less the
    words no correction should land on: single pinyin syllables, initials (wcj) and words
    too short to be asked for. Cached per reader (a new reader after each index change)."""
    cached = _vocabularies.get(id(reader))
    if cached is not None and cached[0] is reader:
        return cached[1]
    syllables = text.pinyin_syllables()
    vocabulary = {}
    for raw, info in reader.iter_field("spell"):
        word = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if (
            len(word) > 3
            and word.isascii()
            and word.isalpha()
            and word not in syllables
            and any(vowel in word for vowel in "aeiouy")
        ):  # not initials: cmqtdg
            vocabulary[word] = info.doc_frequency()
    while len(_vocabularies) >= 16:  # a reader per thread and index version
        _vocabularies.pop(next(iter(_vocabularies)), None)
    _vocabularies[id(reader)] = (reader, vocabulary)
    return vocabulary
