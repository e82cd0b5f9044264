"""Text handling shared by indexing and querying: one normalisation both ways, Chinese word
segmentation (jieba, loaded once per process), and pinyin with the catalogue's own readings
of place names."""

import contextlib
import functools
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType

from flask import current_app, has_app_context

from app.text_input import clean_text, unify_dashes

MAX_QUERY_LENGTH = 200

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Full-width ASCII (U+FF01..U+FF5E) maps to ASCII by a fixed offset; the ideographic space to
# a space. A translate table keeps the length, so highlight offsets stay right.
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Control and format characters (NUL, bidi overrides, zero-width joiners) never mean anything
# in a query or a name; they become spaces so words around them stay apart.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f"
    r"\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)

_converter = None
_converter_lock = threading.Lock()


def _t2s():
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter


def to_simplified(text: str) -> str:
    """Traditional -> simplified, keeping the length (phrase conversions that change it fall
    back to character by character)."""
    if not _CJK.search(text):
        return text
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(ch if len(c := _t2s().convert(ch)) != 1 else c for ch in text)


def normalize(text: str) -> str:
    """The one normalisation used at index and at query time: full-width -> half-width,
    traditional -> simplified, control characters -> spaces. Length-preserving."""
    if not text:
        return ""
    text = text.translate(_WIDTH)
    text = _CONTROL.sub(" ", text)
    return to_simplified(text)


def clean_query(raw: str | None) -> str:
    """User input as plain text: format characters dropped and NFKC applied (see
    drop_invisible), then normalised, whitespace collapsed, cut to 200 characters."""
    text = normalize(drop_invisible((raw or "")[: MAX_QUERY_LENGTH * 4]))
    words = (fold_pinyin_tones(word) for word in text.split())
    return " ".join(words)[:MAX_QUERY_LENGTH].strip()


_TONE_MARKED = re.compile(r"[\u00c0-\u024f]")  # Latin-1 Supplement to Latin Extended-B


def fold_pinyin_tones(word: str) -> str:
    """A word of pinyin with tone marks, as labels, road signs and dictionaries print it
    ("Wénchāng", "hélèxiè", "lǜchá"), as the index holds it: marks dropped, ü as "v"
    (pypinyin's spelling, as "lvcha"). Other accented words ("café") are left alone: only
    a word that then splits wholly into pinyin syllables is folded."""
    if word.isascii() or not _TONE_MARKED.search(word):
        return word
    decomposed = unicodedata.normalize("NFD", word).replace("u\u0308", "v").replace("U\u0308", "V")
    folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    return folded if folded.isascii() and is_pinyin(folded.lower()) else word


def drop_invisible(text: str) -> str:
    """What a person typed or pasted, as the characters they saw: the site's one normaliser
    of typed text (app/text_input.clean_text: invisible and default-ignorable characters
    such as zero-width space, joiners, BOM, soft hyphen, variation selectors removed, so
    文\u200b昌鸡 is one word again; NFKC, UAX #15) with every dash form as "-", so a
    reference number pasted with em dashes finds what the ASCII one finds.

    Not length-preserving, so only for queries: stored text keeps normalize()."""
    return unify_dashes(clean_text(text))


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def is_cjk(char: str) -> bool:
    return bool(_CJK.match(char))


# --- jieba -------------------------------------------------------------------------------

_jieba = None
_jieba_lock = threading.Lock()
_known_words: set[str] = set()
# Counts the times jieba learned words: text segmented before may segment differently now,
# so caches of segmented text key on it (see vocabulary_generation).
_vocabulary_generation = 0


def jieba_instance(tmp_dir: Path | None = None):
    """jieba's default tokenizer, initialised once per process, its cache kept in tmp_dir
    (the instance folder) rather than the system temp dir."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                before: set[Path] = set()
                if tmp_dir is not None:
                    tmp_dir.mkdir(parents=True, exist_ok=True)
                    jieba.dt.tmp_dir = str(tmp_dir)
                    before = set(tmp_dir.glob(JIEBA_DUMP_GLOB))
                jieba.dt.initialize()
                if tmp_dir is not None:
                    _remove_failed_dumps(tmp_dir, before)
                _jieba = jieba.dt
    return _jieba


# jieba dumps its 9 MB dictionary cache to tempfile.mkstemp(dir=tmp_dir) ("tmpXXXXXXXX"),
# then renames it to jieba.cache; when the dump fails (disk full), it logs and leaves the
# half-written temporary file behind, one more at every process start.
JIEBA_DUMP_GLOB = "tmp*"


def _remove_failed_dumps(tmp_dir: Path, before: set[Path]) -> None:
    """Delete the temporary dump files that appeared during initialise and are still there:
    a dump that succeeded was renamed away. One a sibling process is still writing may be
    deleted too; its rename then fails, which jieba logs and shrugs off (no cache)."""
    for path in set(tmp_dir.glob(JIEBA_DUMP_GLOB)) - before:
        with contextlib.suppress(OSError):
            path.unlink()


def add_words(words: Iterable[str]) -> None:
    """Teach jieba the catalogue's own names (文昌鸡, 琼中绿橙) so they segment as units."""
    global _vocabulary_generation
    tokenizer = jieba_instance()
    with _jieba_lock:
        learned = False
        for word in words:
            word = normalize(word).strip()
            if len(word) >= 2 and word not in _known_words and has_cjk(word):
                tokenizer.add_word(word)
                _known_words.add(word)
                learned = True
        if learned:  # blocks segmented before may now segment differently
            _vocabulary_generation += 1
            _segment_block.cache_clear()
            _words_of_block.cache_clear()


def in_dictionary(word: str) -> bool:
    """Whether jieba's own dictionary has the word (not one add_words taught it): the
    same answer in every process, whatever each has learned."""
    return bool(jieba_instance().FREQ.get(word)) and word not in _known_words


def vocabulary_generation() -> int:
    """A number that changes whenever jieba learns words (add_words): a cache of
    segmented text that keys on it never serves a segmentation jieba has outgrown."""
    return _vocabulary_generation


def segment(text: str) -> Iterator[tuple[str, int, int]]:
    """(word, start, end) in jieba's search mode: long words and their dictionary sub-words.

    jieba cuts a text block by block (runs of Han characters, or of Latin letters and
    digits, between punctuation and spaces), each on its own, so a block's words are
    cached: names, places and English words recur across the catalogue, and segmenting
    them (jieba's DAG + HMM in Python) was most of a rebuild."""
    return _by_block(text, _segment_block)


def blocks(text: str) -> Iterator[str]:
    """The blocks jieba cuts one by one (see segment), in order; together they are the
    text. A block's words never depend on its neighbours."""
    return (block for block in _JIEBA_BLOCK.split(text) if block)


def words(text: str) -> Iterator[tuple[str, int, int]]:
    """(word, start, end) in jieba's default (accurate) mode: each character in exactly
    one word, as a reader would cut the text (三门坡镇 whole, 文昌鸡 whole). For
    highlighting; the index uses segment()."""
    return _by_block(text, _words_of_block)


def _by_block(
    text: str, cut: Callable[[str], tuple[tuple[str, int, int], ...]]
) -> Iterator[tuple[str, int, int]]:
    """The words `cut` finds in each jieba block, with offsets into the whole text."""
    start = 0
    for block in blocks(text):
        for word, word_start, word_end in cut(block):
            yield word, start + word_start, start + word_end
        start += len(block)


# jieba's own block pattern (jieba.re_han_default), so blocks are exactly the ones it cuts.
_JIEBA_BLOCK = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)", re.U)


@functools.lru_cache(maxsize=20_000)
def _words_of_block(block: str) -> tuple[tuple[str, int, int], ...]:
    return tuple(jieba_instance().tokenize(block))


@functools.lru_cache(maxsize=50_000)
def _segment_block(block: str) -> tuple[tuple[str, int, int], ...]:
    return tuple(jieba_instance().tokenize(block, mode="search"))


# --- pinyin ------------------------------------------------------------------------------


@functools.cache
def _pypinyin() -> ModuleType:
    """pypinyin, imported on first use, with its phrase dictionary only if PINYIN_PHRASES.

    pypinyin reads PYPINYIN_NO_PHRASES once, when it is first imported, and otherwise loads a
    40 MB phrase dictionary into every process. The variable is therefore set from the
    setting around that one import and restored afterwards; outside an app context (tests,
    scripts) the dictionary is skipped. Nothing else may import pypinyin before this does."""
    phrases = has_app_context() and current_app.config.get("PINYIN_PHRASES", False)
    saved = os.environ.pop("PYPINYIN_NO_PHRASES", None)
    if not phrases:
        os.environ["PYPINYIN_NO_PHRASES"] = "1"
    try:
        import pypinyin
    finally:
        os.environ.pop("PYPINYIN_NO_PHRASES", None)
        if saved is not None:
            os.environ["PYPINYIN_NO_PHRASES"] = saved
    return pypinyin


def romanize(name: str) -> list[str]:
    """Toneless pinyin of name, one item per Chinese character; other text passes through
    as it is ('文昌鸡 A' -> ['wen', 'chang', 'ji', ' A'])."""
    return list(_pypinyin().lazy_pinyin(name))


# Readings pypinyin gets wrong for place names (the county table adds its own, see
# learn_place_readings): phrase -> one syllable per character.
PLACE_READINGS = {
    "六安": ["lu", "an"],
    "朝阳": ["chao", "yang"],
    "乐东": ["le", "dong"],
    "澄迈": ["cheng", "mai"],
    "儋州": ["dan", "zhou"],
    "屯昌": ["tun", "chang"],
    "番石榴": ["fan", "shi", "liu"],
}
_readings_loaded: set[str] = set()


def _load_readings(readings: dict[str, list[str]]) -> None:
    fresh = {k: [[s] for s in v] for k, v in readings.items() if k not in _readings_loaded}
    if fresh:
        _pypinyin().load_phrases_dict(fresh)
        _readings_loaded.update(fresh)
        _syllables.cache_clear()


def learn_place_readings(places: Iterable[tuple[str, str]]) -> None:
    """Take each county's reading from its pinyin slug: of all the readings pypinyin knows
    for the characters, keep the one that spells the slug (乐东 + 'ledong' -> le dong)."""
    from itertools import product as combinations

    pypinyin = _pypinyin()
    readings = {}
    for name, slug in places:
        base = re.sub(r"(市|县|黎族|苗族|自治县)+$", "", name)
        target = re.sub(r"[^a-z]", "", slug.lower())
        if len(base) < 2 or not target or base in PLACE_READINGS:
            continue
        candidates = pypinyin.pinyin(base, style=pypinyin.Style.NORMAL, heteronym=True)
        if len(candidates) != len(base) or any(len(c) > 4 for c in candidates):
            continue
        for option in combinations(*candidates):
            if "".join(option) == target:
                readings[base] = list(option)
                break
    _load_readings(PLACE_READINGS | readings)


def syllables(text: str) -> list[str]:
    """Pinyin syllables (toneless) of the Chinese characters in text."""
    chinese = "".join(ch for ch in text if is_cjk(ch))
    return list(_syllables(chinese)) if chinese else []


@functools.lru_cache(maxsize=20_000)
def _syllables(chinese: str) -> tuple[str, ...]:
    """Cached per string: names share their words (places, products), and pypinyin's
    phrase matching is slow. Emptied when place readings are learned."""
    pypinyin = _pypinyin()
    _load_readings(PLACE_READINGS)
    readings = pypinyin.lazy_pinyin(chinese, style=pypinyin.Style.NORMAL, errors="ignore")
    return tuple(s for s in readings if s.isalpha())


@functools.cache
def pinyin_syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows (about 400: li, wen, bian...), from
    its own character table, tone marks stripped by Unicode decomposition."""
    _pypinyin()
    from pypinyin.pinyin_dict import pinyin_dict

    toned = {reading for readings in set(pinyin_dict.values()) for reading in readings.split(",")}
    decomposed = (unicodedata.normalize("NFD", r).replace("u\u0308", "v") for r in toned)
    return frozenset("".join(ch for ch in r if not unicodedata.combining(ch)) for r in decomposed)


@functools.lru_cache(maxsize=20_000)
def is_pinyin(word: str) -> bool:
    """Whether a Latin word splits wholly into pinyin syllables (wenchang, sanmen; also
    some English words: banana)."""
    return splits_into_syllables(word, pinyin_syllables())


def splits_into_syllables(word: str, syllables: frozenset[str]) -> bool:
    """Whether `word` is wholly a run of `syllables` (each at most 6 letters, as pinyin's
    longest, zhuang)."""
    reachable = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        reachable[end] = any(
            reachable[start] and word[start:end] in syllables
            for start in range(max(0, end - 6), end)
        )
    return reachable[-1]


def pinyin_forms(name: str) -> list[str]:
    """Forms a user may type for a Chinese name: 'wenchangji', 'wen', 'chang', 'ji',
    'wenchang' (per word), and 'wcj' (initials)."""
    parts = syllables(name)
    if not parts:
        return []
    forms = ["".join(parts), "".join(p[0] for p in parts), *parts]
    for word, _start, _end in segment(normalize(name)):
        word_parts = syllables(word)
        if len(word_parts) > 1:
            forms.append("".join(word_parts))
    return list(dict.fromkeys(forms))
