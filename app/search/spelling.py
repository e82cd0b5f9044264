"""Did you mean: a spelling correction for a query that found nothing, from the Latin words
(English and pinyin) of the catalogue's names and of the synonym table."""

import functools
from collections import Counter
from collections.abc import Callable

from app.search import text
from app.search.synonyms import Synonyms
from app.search.words import analyze

# QWERTY neighbours: the one substitution a pinyin typist's finger makes (wenchanh for
# wenchang). Other substitutions are how an English word differs from a pinyin one
# (warning/wanning, sonya/sanya, hole/hele, lichi/lizhi), never a typing slip.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEYS = {
    char: (row, col + row / 2) for row, keys in enumerate(_ROWS) for col, char in enumerate(keys)
}
_NEIGHBOURS = {
    char: {
        other
        for other, (other_row, other_x) in _KEYS.items()
        if other != char and abs(other_row - row) <= 1 and abs(other_x - x) <= 1
    }
    for char, (row, x) in _KEYS.items()
}


def did_you_mean(searcher, query: str, synonyms: Synonyms | None = None) -> str | None:
    """Whoosh's did-you-mean: `correct` over the whole spelling dictionary of the index
    (read once per reader). Asked only when nothing matched."""
    reader = searcher.reader()
    vocabulary, pinyin = _spelling_vocabulary(reader)
    return correct(query, lambda _word: (vocabulary, pinyin), reader, synonyms)


Vocabulary = tuple[dict[str, int], frozenset[str]]


def correct(
    query: str,
    vocabulary_for: Callable[[str], Vocabulary],
    lexicon,
    synonyms: Synonyms | None = None,
) -> str | None:
    """A spelling correction for a query that found nothing, or None: each misspelt
    English or pinyin word is replaced by the closest catalogue word (English words of
    names and of synonym terms, pinyin of names) when that word is close (see
    correction_for). A word the index has anywhere (a description's) is no misspelling.

    vocabulary_for(word) gives (word -> document frequency, the pinyin among them): the
    whole spelling dictionary (Whoosh) or an engine's nearest candidates (PostgreSQL's
    trigram index); lexicon answers `(field, term) in lexicon` for either engine."""
    extra = synonyms.latin_words() if synonyms else ()
    changed = False
    words = []
    for word in query.lower().split():
        found = None
        if _may_correct(word) and not _indexed(word, lexicon):
            vocabulary, pinyin = vocabulary_for(word)
            if extra:
                vocabulary = vocabulary | {w: 1 for w in extra if w not in vocabulary}
            found = correction_for(word, vocabulary, pinyin)
        if found:
            words.append(found)
            changed = True
        else:
            words.append(word)
    return " ".join(words) if changed else None


def _may_correct(word: str) -> bool:
    return word.isascii() and word.isalpha() and max_edits(len(word)) > 0


def _indexed(word: str, lexicon) -> bool:
    return any(
        (field, term) in lexicon for term in analyze(word) for field in ("name", "place", "body")
    )


def max_edits(length: int) -> int:
    """Edits (Damerau-Levenshtein) allowed for a word of this many letters: none up to 3
    (li, xyz, tea: too short to tell a typo from another word), 1 for 4-5 letters, 2 from
    6 on. Commonly used cut-offs (Lucene's fuzzy AUTO and Elasticsearch's `fuzziness:
    AUTO` allow 1 edit from 3 letters, 2 from 6; we start at 4 because pinyin syllables make
    almost every 3-letter string one edit from a catalogue word)."""
    if length <= 3:
        return 0
    return 1 if length <= 5 else 2


def correction_for(
    word: str, vocabulary: dict[str, int], pinyin: frozenset[str] | None = None
) -> str | None:
    """The vocabulary word closest to `word` (fewest edits, then English before pinyin,
    then most frequent), if the word is Latin letters only, unknown, and the candidate is
    within max_edits and not a lone pinyin syllable (lime is never li, bean never bian).

    A candidate made of pinyin syllables (the pinyin of a name, in `pinyin`; or an
    English word such as banana) is reached only by the slips of typing (typing_edits): a
    letter dropped, two neighbours swapped, a letter doubled or a neighbouring key hit
    (wenchng, wanign, xinglnog, bananna -> wenchang, wanning, xinglong, banana). A typed
    word that is itself made of pinyin syllables was typed as meant, and reaches a name's
    pinyin only through the fuzzy syllables of Chinese input methods (_fuzzy: danzou ->
    danzhou, dongfan -> dongfang). An English word differs from pinyin
    by other letters: warning is not wanning, sonya not sanya, helen not hele, lichi not
    lizhi, haiku not haikou, boating not baoting."""
    from whoosh.support.levenshtein import damerau_levenshtein

    if not (word.isascii() and word.isalpha()) or word in vocabulary:
        return None
    limit = max_edits(len(word))
    if not limit:
        return None
    typed_pinyin = _full_syllables(word)
    letters = _letter_set(word)
    best: tuple[int, bool, int, str] | None = None
    for candidate, frequency in vocabulary.items():
        if abs(len(candidate) - len(word)) > limit:
            continue
        # An edit changes at most two of the letters a word has (a substitution drops
        # one, brings one), so words whose letter sets differ in more than 2 * limit are
        # out of reach: a bit count rather than an edit distance per word of the
        # vocabulary (most of a misspelt query's time at 100,000 listings).
        if (letters ^ _letter_set(candidate)).bit_count() > 2 * limit:
            continue
        names_pinyin = pinyin is not None and candidate in pinyin
        is_pinyin = names_pinyin or text.is_pinyin(candidate)
        if names_pinyin and typed_pinyin:
            distance = 1 if _fuzzy(word) == _fuzzy(candidate) else limit + 1
        elif is_pinyin:
            distance = typing_edits(word, candidate, limit)
        else:
            distance = damerau_levenshtein(word, candidate, limit + 1)
        if distance > 1 and is_pinyin and _letters_apart(word, candidate) > 1:
            continue
        key = (distance, is_pinyin, -frequency, candidate)
        if distance <= limit and (best is None or key < best):
            best = key
    return best[3] if best else None


def typing_edits(typed: str, meant: str, limit: int) -> int:
    """How many slips of typing turn `meant` into `typed` (limit + 1 when more): a letter
    left out, a letter doubled or struck with its neighbouring key as well, two neighbours
    swapped, a neighbouring key hit instead. Optimal string alignment with only those."""
    too_many = limit + 1
    rows, cols = len(typed) + 1, len(meant) + 1
    cost = [[too_many] * cols for _ in range(rows)]
    cost[0][0] = 0
    for i in range(rows):
        for j in range(cols):
            here = cost[i][j]
            if i and j and typed[i - 1] == meant[j - 1]:
                here = min(here, cost[i - 1][j - 1])
            if j:  # typed left out meant[j-1]
                here = min(here, cost[i][j - 1] + 1)
            if i and _stray(typed, i - 1):  # typed has an extra letter
                here = min(here, cost[i - 1][j] + 1)
            if i and j and typed[i - 1] in _NEIGHBOURS.get(meant[j - 1], ()):
                here = min(here, cost[i - 1][j - 1] + 1)
            if i > 1 and j > 1 and typed[i - 1] == meant[j - 2] and typed[i - 2] == meant[j - 1]:
                here = min(here, cost[i - 2][j - 2] + 1)
            cost[i][j] = min(here, too_many)
    return cost[-1][-1]


def _full_syllables(word: str) -> bool:
    """Whether a word splits wholly into pinyin syllables with a vowel each (hai-nan, not
    hai-n-na: the interjections n, ng, m, hm are no syllables people type in a name)."""
    return text.splits_into_syllables(word, _voiced_syllables())


@functools.cache
def _voiced_syllables() -> frozenset[str]:
    return frozenset(s for s in text.pinyin_syllables() if any(v in s for v in "aeiouv"))


def _fuzzy(word: str) -> str:
    """Pinyin with the sounds input methods let people confuse (模糊音) merged: zh/z, ch/c,
    sh/s, ng/n and n/l (Hainan and other southern speakers)."""
    for sound, merged in (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ng", "n"), ("l", "n")):
        word = word.replace(sound, merged)
    return word


def _stray(typed: str, index: int) -> bool:
    """Whether typed[index] is a slip: the letter before or after it doubled, or a key next
    to one of them struck as well."""
    char = typed[index]
    around = typed[index - 1 : index] + typed[index + 1 : index + 2]
    return any(char == other or char in _NEIGHBOURS.get(other, ()) for other in around)


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


def is_vocabulary_word(word: str, syllables: frozenset[str]) -> bool:
    """Whether a spelling-field word may be a correction: Latin letters, longer than 3,
    not a lone pinyin syllable, not initials (wcj, cmqtdg, yllw: no vowel)."""
    return (
        len(word) > 3
        and word.isascii()
        and word.isalpha()
        and word not in syllables
        and any(vowel in word for vowel in "aeiou")
    )


_vocabularies: dict[int, tuple[object, dict[str, int], frozenset[str]]] = {}


def _spelling_vocabulary(reader) -> tuple[dict[str, int], frozenset[str]]:
    """(word -> document frequency, the pinyin among them) for the Latin words of the
    spelling field, less the words no correction should land on: single pinyin syllables,
    initials (wcj) and words too short to be asked for. The pinyin are the words the
    pinyin field has. Cached per reader (a new reader after each index change)."""
    cached = _vocabularies.get(id(reader))
    if cached is not None and cached[0] is reader:
        return cached[1], cached[2]
    syllables = text.pinyin_syllables()
    vocabulary = {}
    for raw, info in reader.iter_field("spell"):
        word = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if is_vocabulary_word(word, syllables):
            vocabulary[word] = info.doc_frequency()
    pinyin = frozenset(w for w in vocabulary if ("pinyin", w) in reader)
    while len(_vocabularies) >= 16:  # a reader per thread and index version
        _vocabularies.pop(next(iter(_vocabularies)), None)
    _vocabularies[id(reader)] = (reader, vocabulary, pinyin)
    return vocabulary, pinyin
