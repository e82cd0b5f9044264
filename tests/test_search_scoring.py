"""The scoring pass asks Whoosh for less without changing a score: clauses an Or repeats
are matched once with their boosts summed (service.compact), and every query type ranks
and counts as the plain query does. Against a real Whoosh index over the seed data."""

import pytest
from whoosh.query import And, Or, Term

from app.db import db
from app.search import lifecycle, service, synonyms
from tests.search_helpers import indexed_app


@pytest.fixture(scope="module")
def searcher(database_factory, tmp_path_factory, media_root):
    app = indexed_app(database_factory(), tmp_path_factory.mktemp("scoring"), media_root)
    with app.app_context():
        yield lifecycle.get_store().searcher()
        lifecycle.get_store().close()
        db.session.remove()
        db.engine.dispose()


def scored(searcher, query) -> list[tuple[int, float]]:
    return [(hit.docnum, hit.score) for hit in searcher.search(query, limit=None)]


def assert_same_ranking(found, expected) -> None:
    """The same documents in the same order, scores equal but for the last bits of
    rounding (a sum of three equal scores and three times the score may differ there)."""
    assert [d for d, _s in found] == [d for d, _s in expected]
    assert [s for _d, s in found] == pytest.approx([s for _d, s in expected], rel=1e-12)


def name(word: str, boost: float = 5.0) -> Term:
    return Term("name", word, boost=boost)


def body(word: str, boost: float = 1.0) -> Term:
    return Term("body", word, boost=boost)


REPEATS = [
    # (an Or with repeats, how many clauses stay)
    (Or([name("咖啡"), name("咖啡")]), 1),
    (Or([name("咖啡"), body("咖啡"), name("咖啡"), name("咖啡")]), 2),
    (Or([Term("pinyin", "wenchangji", boost=4.0), Term("pinyin", "wenchangji", boost=4.0)]), 1),
    (Or([And([name("文昌"), body("鸡")]), body("鸡"), And([name("文昌"), body("鸡")])]), 2),
    (Or([name("芒果", 5.0), name("芒果", 4.0), body("芒果")]), 3),  # boosts differ: kept
    (Or([Or([body("荔枝"), name("荔枝")]), body("荔枝"), name("荔枝")]), 2),  # flattened first
]


@pytest.mark.parametrize(("query", "clauses"), REPEATS)
def test_repeated_clauses_score_once_with_the_same_scores(searcher, query, clauses):
    merged = service.compact(query, searcher.reader())
    subqueries = merged.subqueries if isinstance(merged, Or) else [merged]
    assert len(subqueries) == clauses
    expected = scored(searcher, query)
    assert expected, "the variant must match something to compare"
    assert_same_ranking(scored(searcher, merged), expected)


@pytest.mark.parametrize(
    "query",
    ["咖啡", "coffee", "文昌 鸡", "wenchangji", "wcj", "pepper", "green tea", "椰子", "荔枝干"],
)
def test_built_queries_rank_as_before_compacting(searcher, query):
    reader = searcher.reader()
    built = service.build_query(query, True, reader, synonyms.current())
    assert_same_ranking(scored(searcher, service.compact(built, reader)), scored(searcher, built))
