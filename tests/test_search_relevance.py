"""Relevance over the seed data: (query -> expected first result, or expected in the top 3).
zh, traditional zh, pinyin (full, spaced, per word, initials), English, misspellings,
reference numbers, county names and mixed queries. All run against each search engine
(Whoosh, and PostgreSQL on the PostgreSQL run): the `engine` fixture."""

import pytest

from tests.search_helpers import first_keys, serve_indexed

FIRST = [
    # Chinese
    ("文昌鸡", "product:wenchang-chicken"),
    ("和乐蟹", "product:hele-crab"),
    ("兴隆咖啡", "product:xinglong-coffee"),
    ("琼中绿橙", "product:qiongzhong-green-orange"),
    ("五指山红茶", "product:wuzhishan-black-tea"),
    ("东方黎锦", "product:dongfang-li-brocade"),
    ("澄迈桥头地瓜", "product:chengmai-qiaotou-sweet-potato"),
    # traditional characters and full-width input
    ("文昌雞", "product:wenchang-chicken"),
    ("興隆咖啡", "product:xinglong-coffee"),
    ("東方黎錦", "product:dongfang-li-brocade"),
    ("ｗｅｎｃｈａｎｇｊｉ", "product:wenchang-chicken"),
    # pinyin: full, spaced, initials
    ("wenchangji", "product:wenchang-chicken"),
    ("wen chang ji", "product:wenchang-chicken"),
    ("wcj", "product:wenchang-chicken"),
    ("helexie", "product:hele-crab"),
    ("xinglongkafei", "product:xinglong-coffee"),
    ("qzlc", "product:qiongzhong-green-orange"),
    # pinyin as labels and signs print it, with tone marks
    ("wénchāng jī", "product:wenchang-chicken"),
    ("Wénchāngjī", "product:wenchang-chicken"),
    ("hélèxiè", "product:hele-crab"),
    ("Xīnglóng kāfēi", "product:xinglong-coffee"),
    ("Qióngzhōng lǜchéng", "product:qiongzhong-green-orange"),
    ("Dōngfāng Líjǐn", "product:dongfang-li-brocade"),
    ("Lèdōng", "county:ledong"),
    ("Dongfang Lijin", "product:dongfang-li-brocade"),
    # English
    ("Wenchang chicken", "product:wenchang-chicken"),
    ("hele crab", "product:hele-crab"),
    ("Xinglong Coffee", "product:xinglong-coffee"),
    ("green orange", "product:qiongzhong-green-orange"),
    ("Li brocade", "product:dongfang-li-brocade"),
    ("rambutan", "product:baoting-rambutan"),
    # misspellings (corrected: "did you mean", results for the correction)
    ("rambutn", "product:baoting-rambutan"),
    ("brocad", "product:dongfang-li-brocade"),
    ("helle crab", "product:hele-crab"),
    # reference numbers (exact)
    ("DEMO-TM-0001", "brand:demo-brand-wenchang-chicken"),
    ("demo-tm-0004", "brand:demo-brand-kaxiangling"),
    ("国家质检总局公告2007年第209号", "sign:xinglong-coffee/cnipa_gi_product"),
    ("31363028", "sign:dongfang-li-brocade/gi_trademark"),
    ("91469005000000019U", "enterprise:demo-wenchang-yexiang-poultry"),
    # county names
    ("乐东", "county:ledong"),
    ("儋州市", "county:danzhou"),
    ("Qiongzhong", "county:qiongzhong"),
    ("ledong", "county:ledong"),
    ("樂東", "county:ledong"),
    # brands and enterprises
    ("咖香岭", "brand:demo-brand-kaxiangling"),
    ("椰乡鸡", "brand:demo-brand-yexiang"),
    ("黎锦坊", "brand:demo-brand-lijinfang"),
    ("屯昌黑猪生态养殖", "enterprise:demo-tunchang-black-pig-farm"),
]

TOP3 = [
    ("wenchang", "product:wenchang-chicken"),
    ("coffee", "product:xinglong-coffee"),
    ("coffee", "product:fushan-coffee"),
    ("咖啡", "product:fushan-coffee"),
    ("鸡", "product:wenchang-chicken"),
    ("鸡", "product:danzhou-chicken"),
    ("火山荔枝", "product:haikou-volcanic-lychee"),
    ("海口 lychee", "product:haikou-volcanic-lychee"),
    ("lychee", "product:yongxing-lychee"),
    ("mango", "product:sanya-mango"),
    ("芒果", "product:changjiang-mango"),
    ("黑猪", "product:tunchang-black-pig"),
    ("文昌 chicken", "product:wenchang-chicken"),
    ("wanning 柠檬", "product:wanning-lemon"),
    ("三亚 mango", "product:sanya-mango"),
    ("hainan salt", "product:hainan-island-salt"),
    ("wenchang", "county:wenchang"),
]


@pytest.fixture(scope="module")
def search_app(database_factory, tmp_path_factory, media_root, engine):
    yield from serve_indexed(
        database_factory, tmp_path_factory.mktemp("relevance"), media_root, engine
    )


@pytest.mark.parametrize(("query", "expected"), FIRST)
def test_first_result(search_app, query, expected):
    assert first_keys(query, 1) == [expected]


@pytest.mark.parametrize(("query", "expected"), TOP3)
def test_in_top_three(search_app, query, expected):
    assert expected in first_keys(query, 3)


def test_there_are_at_least_forty_relevance_queries():
    assert len(FIRST) + len(TOP3) >= 40


def test_facet_filter_narrows_to_kind_and_county(search_app):
    assert first_keys("wenchang", 5, kind="county") == ["county:wenchang"]
    keys = first_keys("荔枝", 24, county="lingshui")
    assert keys and all(k.endswith("lingshui-lychee") or "lingshui" in k for k in keys)


def test_a_bare_product_word_ranks_only_matching_products_first(search_app):
    assert all(k.startswith("product:") and "lychee" in k for k in first_keys("荔枝", 4))
