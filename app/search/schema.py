"""The Whoosh schema and its analyzers. Text goes through the same normalisation at index
and query time (app.search.text.normalize), then jieba for Chinese, then lowercasing,
accent folding and English stemming for Latin words."""

from collections.abc import Iterator

from whoosh import fields, scoring
from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    NgramFilter,
    StemFilter,
    StopFilter,
    Tokenizer,
)
from whoosh.analysis.acore import Token
from whoosh.support.charset import accent_map

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


def mixed_analyzer():
    """Chinese and English in one field: names and descriptions are often both."""
    return (
        JiebaTokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(minsize=1)
        | StemFilter()
    )


def exact_analyzer():
    """Unstemmed lowercase words: for the spelling dictionary and suggestions."""
    return JiebaTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)


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
        name=fields.TEXT(analyzer=mixed, stored=True, phrase=False),
        name_chars=fields.TEXT(analyzer=name_chars_analyzer(), phrase=False),
        pinyin=fields.KEYWORD(lowercase=True, scorable=True),
        refs=fields.KEYWORD(lowercase=True, commas=True, scorable=True),
        place=fields.TEXT(analyzer=mixed, phrase=False),
        body=fields.TEXT(analyzer=mixed, stored=True, phrase=False),
        spell=fields.TEXT(analyzer=exact_analyzer(), spelling=True, phrase=False),
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
        self._columns = {}

    def final(self, searcher, docnum, score):
        reader = searcher.reader()
        column = self._columns.get(id(reader))
        if column is None:
            self._columns = {id(reader): (column := reader.column_reader("kind"))}
        return score * KIND_BOOST.get(column[docnum], 1.0)
