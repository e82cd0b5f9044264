"""The index's analyzers remember each text block's words (schema.SegmentedAnalyzer): what
they give must be exactly what the plain token-by-token chain gives, for every kind of
text, before and after jieba learns new catalogue words, and after the schema is pickled
into an index and read back."""

import pickle

import pytest
from whoosh.analysis.analyzers import CompositeAnalyzer

from app.search import schema, text

TEXTS = [
    "",
    "文昌鸡",
    "文昌鸡 Wenchang Chicken",
    "產於海南島熱帶季風氣候區，日照充足。",  # traditional -> simplified
    "ＷＥＮＣＨＡＮＧ　鸡，Ｈａｉｎａｎ",  # full-width letters, ideographic space
    "The chickens are raised in the groves of Hainan and the hills",  # stop words, stems
    "Café crème brûlée, naïve jalapeño",  # accents folded
    "a b c I x y z",  # one-letter words (stop words at minsize 1)
    "GB/T 19694-2008 第2012年第35号公告",  # codes, digits, mixed blocks
    "咖啡咖啡咖啡 coffee coffee coffees",  # repeated words and blocks
    "文\x00昌\u200b鸡\u202e",  # control and format characters
    "!!! ，。、…… ---",  # punctuation only
    "海南 海南 海南 " * 20,
    "兴隆咖啡豆产于万宁市兴隆华侨农场，Xinglong coffee beans.",
]


def plain_chain(analyzer: schema.SegmentedAnalyzer) -> CompositeAnalyzer:
    return CompositeAnalyzer(*analyzer.items)


def words_of(analyzer, value: str, **kwargs) -> list[tuple[str, float]]:
    return [(t.text, t.boost) for t in analyzer(value, **kwargs)]


ANALYZERS = [("mixed", schema.mixed_analyzer), ("exact", schema.exact_analyzer)]
# How Whoosh calls an analyzer: indexing a frequency field, a query, and the defaults.
CALLS = [
    {"mode": "index", "boosts": True},
    {"mode": "query"},
    {},
]


@pytest.mark.parametrize("value", TEXTS)
@pytest.mark.parametrize(("name", "make"), ANALYZERS)
@pytest.mark.parametrize("kwargs", CALLS)
def test_cached_words_are_the_chains_words(value, name, make, kwargs):
    analyzer = make()
    expected = words_of(plain_chain(analyzer), value, **kwargs)
    assert words_of(analyzer, value, **kwargs) == expected  # first: fills the cache
    assert words_of(analyzer, value, **kwargs) == expected  # then: from the cache


@pytest.mark.parametrize(
    "kwargs",
    [
        {"positions": True},
        {"chars": True},
        {"positions": True, "chars": True, "start_pos": 3, "start_char": 7},
        {"keeporiginal": True},
        {"removestops": False},
    ],
)
def test_calls_asking_for_more_than_words_take_the_chain(kwargs):
    analyzer = schema.mixed_analyzer()
    value = "The 文昌鸡 of Wenchang, 產於海南"
    attributes = ("text", "pos", "startchar", "endchar", "stopped")

    def tokens(chain):
        return [tuple(getattr(t, a, None) for a in attributes) for t in chain(value, **kwargs)]

    assert tokens(analyzer) == tokens(plain_chain(analyzer))


@pytest.mark.parametrize(
    ("value", "learned"),
    # Names no other test teaches jieba (its vocabulary is one per process).
    [
        ("琼椰湾香兰谷的荔枝很甜", "琼椰湾香兰谷"),
        ("蓝鲸岙红毛丹", "蓝鲸岙红毛丹"),
        ("这是鹿回头沉香木 agarwood", "鹿回头沉香木"),
    ],
)
def test_words_jieba_learns_later_change_the_cached_words(value, learned):
    analyzer = schema.mixed_analyzer()
    before = words_of(analyzer, value)
    assert (learned, 1.0) not in before
    text.add_words([learned])
    after = words_of(analyzer, value)
    assert (learned, 1.0) in after
    assert after == words_of(plain_chain(analyzer), value)


@pytest.mark.parametrize(("name", "make"), ANALYZERS)
def test_the_pickled_schema_carries_no_cache_and_analyses_alike(name, make):
    analyzer = make()
    for value in TEXTS:
        words_of(analyzer, value)
    copy = pickle.loads(pickle.dumps(analyzer))
    assert "_cache" not in copy.__dict__
    # As small as the plain chain's pickle (the class name is a little longer).
    assert len(pickle.dumps(analyzer)) < len(pickle.dumps(plain_chain(analyzer))) + 100
    for value in TEXTS:
        assert words_of(copy, value) == words_of(plain_chain(analyzer), value)


def test_a_full_cache_starts_again(monkeypatch):
    analyzer = schema.mixed_analyzer()
    monkeypatch.setattr(schema.SegmentedAnalyzer, "CACHE_LIMIT", 3)
    values = [f"word{n} 文昌{n}" for n in range(10)]
    for value in values:
        assert words_of(analyzer, value) == words_of(plain_chain(analyzer), value)
    assert len(analyzer.__dict__["_cache"]) <= 3


@pytest.mark.parametrize("value", TEXTS)
@pytest.mark.parametrize(("name", "make"), ANALYZERS)
@pytest.mark.parametrize("field_boost", [1.0, 2.5])
def test_counted_postings_are_whooshs_postings(value, name, make, field_boost):
    from whoosh import formats

    analyzer = make()
    plain = formats.Frequency(field_boost=field_boost)
    counted = schema.SegmentedFrequency(field_boost=field_boost)

    def postings(format_, analyzer_):
        return sorted(format_.word_values(value, analyzer_, mode="index"))

    assert postings(counted, analyzer) == postings(plain, plain_chain(analyzer))


@pytest.mark.parametrize("field", ["name", "place", "body", "spell"])
def test_text_fields_index_as_whoosh_text_fields(field):
    from whoosh import fields

    segmented = schema.build_schema()[field]
    plain = fields.TEXT(analyzer=plain_chain(segmented.analyzer), phrase=False)
    for value in TEXTS:
        assert sorted(segmented.index(value)) == sorted(plain.index(value))
    assert not segmented.format.supports("positions")
    assert segmented.scorable and segmented.format.field_boost == plain.format.field_boost
