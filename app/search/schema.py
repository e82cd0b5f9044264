"""The Whoosh schema and its analyzers. Text goes through the same normalisation at index
and query time (app.search.text.normalize), then jieba for Chinese, then lowercasing,
accent folding and English stemming for Latin words."""

from collections import Counter
from collections.abc import Iterator
from itertools import chain

from whoosh import fields, formats, scoring
from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    NgramFilter,
    StemFilter,
    StopFilter,
    Tokenizer,
)
from whoosh.analysis.acore import Token
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

from app.search import text

KINDS = ("product", "brand", "enterprise", "sign", "county")


class _SpanTokenizer(Tokenizer):
    """One token per (text, start, end) span that `spans` finds in the normalised value;
    start and end are character offsets in it, and so in the original text (the
    normalisation keeps lengths)."""

    def __eq__(self, other):
        return self.__class__ is other.__class__

    def spans(self, normalized: str) -> Iterator[tuple[str, int, int]]:
        raise NotImplementedError

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for word, start, end in self.spans(text.normalize(value)):
            token.text = word
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                # Whoosh's Token takes attributes as analyzers set them; it declares none.
                token.original = token.text  # type: ignore[attr-defined]  # see above
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class JiebaTokenizer(_SpanTokenizer):
    """Words of mixed Chinese/Latin text via jieba's search mode (文昌鸡 -> 文昌, 文昌鸡),
    skipping whitespace and punctuation."""

    def spans(self, normalized: str) -> Iterator[tuple[str, int, int]]:
        for word, start, end in text.segment(normalized):
            if any(ch.isalnum() for ch in word):
                yield word.strip(), start, end

    def words(self, token: Token, normalized: str) -> Iterator[tuple[int, int]]:
        """Set `token` to each word of already normalised text in turn (for
        SegmentedAnalyzer, which runs the filters itself); yields the word's offsets."""
        for word, start, end in self.spans(normalized):
            token.text = word
            token.boost = 1.0
            token.stopped = False
            yield start, end


class CharTokenizer(_SpanTokenizer):
    """The Chinese characters of a name, one token per run, for single-character n-grams:
    jieba's search mode never yields 鸡 out of 文昌鸡."""

    def spans(self, normalized: str) -> Iterator[tuple[str, int, int]]:
        run_start = None
        for index, ch in enumerate(normalized + " "):
            if text.is_cjk(ch):
                if run_start is None:
                    run_start = index
            elif run_start is not None:
                yield normalized[run_start:index], run_start, index
                run_start = None


class SegmentedAnalyzer(CompositeAnalyzer):
    """A JiebaTokenizer and word-by-word filters (lowercase, accents, stop words, stems)
    that remembers each text block's final words. Rebuilds and queries meet the same
    blocks again and again (place and product words, description sentences), and running
    the filter chain token by token was half of a rebuild's analysis.

    The words of a text are those of its blocks (app.search.text.blocks) in order, and
    every filter here looks at one token at a time, so the cached words are the chain's
    own. Only for what the index asks (no positions, offsets or stop-word marks: the
    fields have phrase=False); other calls take the chain itself."""

    CACHE_LIMIT = 50_000  # blocks; a 100,000-listing rebuild meets about this many

    def __call__(self, value, no_morph=False, **kwargs):
        if no_morph or not self.answers_words(kwargs):
            return super().__call__(value, no_morph=no_morph, **kwargs)
        return self._cached_tokens(value, kwargs.get("mode", ""))

    @staticmethod
    def answers_words(kwargs: dict) -> bool:
        """Whether a call with these arguments wants only the words (see the class)."""
        return (
            kwargs.get("removestops", True)
            and kwargs.get("tokenize", True)
            and not any(kwargs.get(k) for k in ("positions", "chars", "keeporiginal"))
        )

    def __getstate__(self):
        # The schema is pickled into the index's table of contents: not the cache.
        return {"items": self.items}

    def words(self, value: str, mode: str = "") -> Iterator[str]:
        """The final words of a text, in order (as the tokens' texts of a call)."""
        blocks = text.blocks(text.normalize(value))
        return chain.from_iterable(self._block_words(block, mode) for block in blocks)

    def _cached_tokens(self, value: str, mode: str) -> Iterator[Token]:
        token = Token(removestops=True, mode=mode)
        token.boost = 1.0
        for word in self.words(value, mode):
            token.text = word
            token.stopped = False
            yield token

    def _block_words(self, block: str, mode: str) -> tuple[str, ...]:
        cache = self.__dict__.setdefault("_cache", {})
        key = (text.vocabulary_generation(), mode, block)
        found = cache.get(key)
        if found is None:
            if len(cache) >= self.CACHE_LIMIT:
                cache.clear()
            tokenizer = self.items[0]
            assert isinstance(tokenizer, JiebaTokenizer)
            token = Token(removestops=True, mode=mode)
            stream: Iterator[Token] = (token for _ in tokenizer.words(token, block))
            for item in self.items[1:]:
                stream = item(stream)
            found = cache[key] = tuple(t.text for t in stream)
        return found


class SegmentedFrequency(formats.Frequency):
    """Whoosh's Frequency postings (word, count, weight), counted in one go from a
    SegmentedAnalyzer's words rather than token by token: the same postings, without a
    Python step per word of every description."""

    def word_values(self, value, analyzer, **kwargs):
        if not (
            isinstance(value, str)
            and isinstance(analyzer, SegmentedAnalyzer)
            and analyzer.answers_words(kwargs)
        ):
            return super().word_values(value, analyzer, **kwargs)
        boost = self.field_boost
        counts = Counter(analyzer.words(value, kwargs.get("mode", "")))
        # Every token weighs 1.0: the weight is the count, as a float, times the boost.
        return ((w, n, float(n) * boost, pack_uint(n)) for w, n in counts.items())


class SegmentedText(fields.TEXT):
    """A TEXT field without positions whose postings come from SegmentedFrequency."""

    def __init__(self, field_boost: float = 1.0, **kwargs) -> None:
        super().__init__(phrase=False, field_boost=field_boost, **kwargs)
        self.format = SegmentedFrequency(field_boost=field_boost)


def mixed_analyzer():
    """Chinese and English in one field: names and descriptions are often both."""
    return SegmentedAnalyzer(
        JiebaTokenizer(),
        LowercaseFilter(),
        CharsetFilter(accent_map),
        StopFilter(minsize=1),
        StemFilter(),
    )


def exact_analyzer():
    """Unstemmed lowercase words: for the spelling dictionary and suggestions."""
    return SegmentedAnalyzer(JiebaTokenizer(), LowercaseFilter(), CharsetFilter(accent_map))


def name_chars_analyzer():
    return CharTokenizer() | NgramFilter(minsize=1, maxsize=2)


def build_schema() -> fields.Schema:
    mixed = mixed_analyzer()
    return fields.Schema(
        key=fields.ID(stored=True, unique=True),  # "product:12"
        kind=fields.ID(stored=True, sortable=True),
        obj_id=fields.STORED(),
        # Boosts are given at query time (app.search.service.FIELD_BOOSTS): index-time
        # boosts only scale term frequency, which BM25 saturates.
        name_exact=fields.KEYWORD(commas=True, lowercase=True, scorable=True),
        name=SegmentedText(analyzer=mixed, stored=True),
        name_chars=fields.TEXT(analyzer=name_chars_analyzer(), phrase=False),
        pinyin=fields.KEYWORD(lowercase=True, scorable=True),
        refs=fields.KEYWORD(lowercase=True, commas=True, scorable=True),
        place=SegmentedText(analyzer=mixed),
        body=SegmentedText(analyzer=mixed, stored=True),
        spell=SegmentedText(analyzer=exact_analyzer(), spelling=True),
        suggest=fields.NGRAMWORDS(minsize=1, maxsize=16, at="start", stored=False),
        label=fields.STORED(),
        digest=fields.STORED(),  # of the source document: `search check` finds stale ones
        # Facets
        f_county=fields.KEYWORD(commas=True, stored=True),
        f_category=fields.ID(stored=True, sortable=True),
        f_regime=fields.KEYWORD(commas=True, stored=True),
        # The same multi-valued facets as one column value ("danzhou,wenchang"): counting
        # through a column costs one lookup per hit; Whoosh's overlapping facets walk every
        # posting of every value on each search.
        f_county_set=fields.ID(sortable=True),
        f_regime_set=fields.ID(sortable=True),
    )


# What people look for first: a product, then a place, a brand, a company; a sign shares
# its product's name and should come right after it.
KIND_BOOST = {"product": 1.5, "county": 1.3, "brand": 1.1, "enterprise": 1.0, "sign": 0.8}


class KindWeighting(scoring.BM25F):
    """BM25F, then multiplied by the document kind's boost."""

    use_final = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._boosts: dict[object, tuple[object, list[float]]] = {}

    def final(self, searcher, docnum, score):
        reader = searcher.reader()
        cached = self._boosts.get(id(reader))
        if cached is None or cached[0] is not reader:
            cached = self._boosts[id(reader)] = (reader, segment_boosts(reader))
        return score * cached[1][docnum]


# Segment id -> each document's kind boost. A segment never changes its documents' kinds,
# so a reader opened after an edit reads only the new segment's: one list lookup per hit
# instead of a column read (a tenth of a broad query's time).
_segment_boosts: dict[str, list[float]] = {}
SEGMENT_BOOSTS_KEPT = 64


def segment_boosts(reader) -> list[float]:
    """KIND_BOOST of each document of one segment's reader, by document number."""
    segment = reader.segment()
    key = segment.segment_id() if segment is not None else None
    found = _segment_boosts.get(key) if key else None
    if found is None:
        found = [KIND_BOOST.get(kind, 1.0) for kind in reader.column_reader("kind")]
        if key:
            if len(_segment_boosts) >= SEGMENT_BOOSTS_KEPT:
                _segment_boosts.clear()
            _segment_boosts[key] = found
    return found
