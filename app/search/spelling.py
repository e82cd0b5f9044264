"""Did you mean: a spelling correction for a query that found nothing, from the Latin words
(English and pinyin) of the catalogue's names."""

from collections import Counter
from collections.abc import Callable

from app.search import text


def did_you_mean(searcher, query: str) -> str | None:
    """A spelling correction for a query that found nothing, or None: each misspelt
    English or pinyin word is replaced by the closest catalogue word (English words of
    names, pinyin of names) when that word is close (see correction_for). Asked only when
    nothing matched: it reads the whole spelling dictionary."""
    vocabulary = _spelling_vocabulary(searcher.reader())
    return correct(query, lambda _word: vocabulary)


def correct(query: str, vocabulary_for: Callable[[str], dict[str, int]]) -> str | None:
    """The query with each word replaced by its correction_for among
    vocabulary_for(word) (the whole vocabulary, or an engine's near candidates), or None
    when no word changed."""
    changed = False
    words = []
    for word in query.lower().split():
        found = correction_for(word, vocabulary_for(word)) if _may_correct(word) else None
        if found:
            words.append(found)
            changed = True
        else:
            words.append(word)
    return " ".join(words) if changed else None


def _may_correct(word: str) -> bool:
    return word.isascii() and word.isalpha() and max_edits(len(word)) > 0


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
    best: tuple[int, int, str] | None = None
    for candidate, frequency in vocabulary.items():
        if abs(len(candidate) - len(word)) > limit:
            continue
        distance = damerau_levenshtein(word, candidate, limit + 1)
        if distance > 1 and text.is_pinyin(candidate) and _letters_apart(word, candidate) > 1:
            continue
        if distance <= limit and (best is None or (distance, -frequency) < best[:2]):
            best = (distance, -frequency, candidate)
    return best[2] if best else None


def _letters_apart(first: str, second: str) -> int:
    """How many letters one word has that the other lacks (order aside)."""
    a, b = Counter(first), Counter(second)
    return sum(((a - b) + (b - a)).values())


def is_vocabulary_word(word: str, syllables: frozenset[str]) -> bool:
    """Whether a spelling-field word may be a correction: Latin letters, longer than 3,
    not a lone pinyin syllable, not initials (wcj, cmqtdg: no vowel)."""
    return (
        len(word) > 3
        and word.isascii()
        and word.isalpha()
        and word not in syllables
        and any(vowel in word for vowel in "aeiouy")
    )


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
        if is_vocabulary_word(word, syllables):
            vocabulary[word] = info.doc_frequency()
    while len(_vocabularies) >= 16:  # a reader per thread and index version
        _vocabularies.pop(next(iter(_vocabularies)), None)
    _vocabularies[id(reader)] = (reader, vocabulary)
    return vocabulary
