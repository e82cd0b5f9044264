"""Search text as people type it (issue 8, kinds 6 and 2): highlights cover whole words,
did-you-mean only offers close corrections, compound query words find the catalogue word
they extend, everyday names find products through the synonym table, and invisible
characters never split a word. All against each search engine over the seed data (the
`engine` fixture: Whoosh, and PostgreSQL on the PostgreSQL run)."""

import html as htmllib
import re

import jieba
import pytest
from markupsafe import Markup
from sqlalchemy import delete, func, select

from app.db import db
from app.models import AuditEntry, SynonymGroup
from app.search import (
    SearchFilters,
    current_engine,
    highlight,
    lifecycle,
    postgresql,
    service,
    spelling,
    text,
    words,
)
from app.services import synonyms as synonym_service
from tests.admin_support import csrf_token, login, make_users
from tests.search_helpers import indexed_app, serve_indexed

_MARK = re.compile(r"<mark>(.*?)</mark>")


@pytest.fixture(scope="module")
def search_app(database_factory, tmp_path_factory, media_root, engine):
    app = indexed_app(database_factory(), tmp_path_factory.mktemp("searchtext"), media_root, engine)
    with app.app_context():
        yield app
        lifecycle.get_store().close()
        db.session.remove()
        db.engine.dispose()


def slugs(query: str, n: int = 24) -> list[str]:
    results = service.search(query, SearchFilters(), 1, n)
    assert results.source == "index"
    return [getattr(h.obj, "slug", None) or h.obj.product.slug for h in results.hits]


def keys(query: str) -> list[str]:
    results = service.search(query, SearchFilters(), 1, 100)
    return [str(h.key) for h in results.hits]


def snippets(query: str) -> list[str]:
    results = service.search(query, SearchFilters(), 1, 24)
    return [str(h.snippet) for h in results.hits if h.snippet]


def lexicon():
    """The engine's terms, as build_query asks them: `(field, term) in lexicon()`."""
    if current_engine().name == "postgresql":
        return postgresql.Lexicon(db.session.connection())
    return lifecycle.get_store().searcher().reader()


def spelling_vocabulary() -> dict[str, int]:
    """Every word "did you mean" may offer, with its document count, from either engine."""
    if current_engine().name == "postgresql":
        syllables = text.pinyin_syllables()
        rows = db.session.execute(postgresql.search_terms.select()).all()
        words = {t.removeprefix(postgresql.SPELL): n for t, n in rows if t.startswith("spell:")}
        return {w: n for w, n in words.items() if spelling.is_vocabulary_word(w, syllables)}
    return spelling._spelling_vocabulary(lifecycle.get_store().searcher().reader())[0]


def word_boundaries(plain: str) -> set[int]:
    """Offsets where jieba's own (accurate-mode) segmentation of the text starts or ends a
    word, and every offset around a non-Han character."""
    bounds = set()
    for _word, start, end in jieba.dt.tokenize(plain):
        bounds |= {start, end}
    return bounds


def assert_whole_words(snippet: str) -> None:
    """Every <mark> begins and ends at a word boundary of the unmarked text: no letter of
    the same Latin word right outside it, and jieba's segmentation agrees for Chinese."""
    plain_parts, spans, cursor, position = [], [], 0, 0
    for match in _MARK.finditer(snippet):
        before = htmllib.unescape(snippet[cursor : match.start()])
        inner = htmllib.unescape(match.group(1))
        plain_parts += [before, inner]
        position += len(before)
        spans.append((position, position + len(inner)))
        position += len(inner)
        cursor = match.end()
    plain_parts.append(htmllib.unescape(snippet[cursor:]))
    plain = "".join(plain_parts)
    bounds = word_boundaries(plain)
    for start, end in spans:
        word = plain[start:end]
        assert word.strip() == word and word, (word, snippet)
        if word.isascii():
            outside = plain[start - 1 : start] + plain[end : end + 1]
            assert not any(ch.isascii() and ch.isalnum() for ch in outside), (word, snippet)
        else:
            assert start in bounds and end in bounds, (word, snippet)


# --- a) highlights ------------------------------------------------------------------------

# (query, a word that must be marked whole, a fragment that must never be marked alone)
HIGHLIGHTS = [
    ("coffees", "coffee", "coffe"),
    ("coffee", "coffee", "coffe"),
    ("mangoes", "mango", "mang"),
    ("chickens", "chicken", "chick"),
    ("crabs", "crabs", "crab</mark>s"),
    ("lychees", "lychees", "lyche"),
    ("peppers", "peppercorns", "pepper</mark>c"),
    ("lemons", "lemons", "lemon</mark>s"),
    ("guavas", "guavas", "guava</mark>s"),
    ("apples", "apples", "appl"),
    ("coconuts", "coconut", "coconu"),
    ("oranges", "orange", "orang"),
    ("三门坡荔枝", "三门坡", "三门"),
    ("sanmenpo", "三门坡", "三门"),
    ("文昌鸡", "文昌鸡", "文昌"),
    ("荔枝", "荔枝", "荔"),
    ("兴隆咖啡", "兴隆咖啡", "兴"),
    ("霸王岭山鸡", "霸王岭", "霸王"),
    ("多文空心菜", "多文", "多"),
    ("和乐蟹", "和乐蟹", "和乐"),
    ("文昌 chicken", "chicken", "chick"),
    ("海口 lychee", "lychees", "lyche"),
    ("wenchangji", "文昌鸡", "文昌"),
    ("wcj", "文昌鸡", "文"),
    ("helexie", "和乐蟹", "和乐"),
    ("xinglongkafei", "兴隆咖啡", "兴隆"),
    ("wen chang ji", "文昌鸡", "文"),
    ("咖啡粉", "咖啡粉", "咖啡</mark>粉"),
    ("荔枝干", "荔枝", "干"),
]


@pytest.mark.parametrize(("query", "whole", "fragment"), HIGHLIGHTS)
def test_highlights_mark_whole_words(search_app, query, whole, fragment):
    found = snippets(query)
    assert found, query
    marked = {m.lower() for s in found for m in _MARK.findall(s)}
    assert whole.lower() in marked, (query, marked)
    if "</mark>" in fragment:
        assert all(fragment.lower() not in s.lower() for s in found), (query, fragment)
    else:
        assert fragment.lower() not in marked, (query, marked)
    for snippet in found:
        assert_whole_words(snippet)


# Bodies with markup characters and mixed scripts; the snippet must stay escaped text.
ESCAPING = [
    ("crab", "Mud crabs & <b>lobsters</b> from 和乐", "crabs"),
    ("crabs", "<script>alert(1)</script> crab meat", "crab"),
    ("和乐蟹", "和乐蟹 < 1 kg & 青蟹 > 2 kg", "和乐蟹"),
    ("coffee", "\"Coffee\" & 'tea' <i>", "Coffee"),
    ("文昌鸡", "A&amp;B 文昌鸡 <img src=x onerror=alert(1)>", "文昌鸡"),
    ("lychees", "Lychees&nbsp;<br>荔枝", "Lychees"),
]


@pytest.mark.parametrize(("query", "body", "whole"), ESCAPING)
def test_snippets_escape_the_text_around_whole_word_marks(search_app, query, body, whole):
    snippet = highlight.snippet(body, highlight.highlight_terms(query))
    assert isinstance(snippet, Markup)
    rendered = str(snippet)
    assert f"<mark>{whole}</mark>" in rendered
    without_marks = rendered.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks and ">" not in without_marks.replace("&gt;", "")
    assert htmllib.unescape(without_marks) == body
    assert_whole_words(rendered)


def test_results_page_marks_whole_words(search_app):
    html = search_app.test_client().get("/search?q=coffees&lang=en").get_data(as_text=True)
    assert "<mark>Coffee</mark>" in html or "<mark>coffee</mark>" in html
    assert "coffe</mark>e" not in html.lower()


# --- b) did you mean ----------------------------------------------------------------------

# (typed, the correction, a product the corrected search finds)
MISSPELLINGS = [
    ("cofee", "coffee", "xinglong-coffee"),
    ("coffe", "coffee", "fushan-coffee"),
    ("wenchng", "wenchang", "wenchang-chicken"),
    ("wenchagnji", "wenchangji", "wenchang-chicken"),
    ("chiken", "chicken", "wenchang-chicken"),
    ("chikcen", "chicken", "danzhou-chicken"),
    ("rambutn", "rambutan", "baoting-rambutan"),
    ("hainna", "hainan", "hainan-island-salt"),
    ("hiakou", "haikou", "haikou-volcanic-lychee"),
    ("danzou", "danzhou", "danzhou-chicken"),
    ("qiongzhng", "qiongzhong", "qiongzhong-green-orange"),
    ("qionghia", "qionghai", "qionghai-guava"),
    ("lingshiu", "lingshui", "lingshui-lychee"),
    ("wanign", "wanning", "wanning-lemon"),
    ("lycheee", "lychee", "yongxing-lychee"),
    ("coconat", "coconut", "wenchang-coconut"),
    ("peper", "pepper", "dapo-pepper"),
    ("xinglnog", "xinglong", "xinglong-coffee"),
    ("bananna", "banana", "ledong-banana"),
    ("lemmon", "lemon", "wanning-lemon"),
    ("tobaco", "tobacco", "hainan-cigar-tobacco-leaf"),
    ("helexei", "helexie", "hele-crab"),
    ("wenchang chiken", "wenchang chicken", "wenchang-chicken"),
    ("sanay mango", "sanya mango", "sanya-mango"),
]


@pytest.mark.parametrize(("typed", "correction", "expected"), MISSPELLINGS)
def test_close_misspellings_are_corrected(search_app, typed, correction, expected):
    results = service.search(typed, SearchFilters(), 1, 24)
    assert results.suggestion == correction and results.corrected
    assert len(results.suggestion.split()) == len(typed.split())
    assert expected in slugs(correction)
    assert expected in [getattr(h.obj, "slug", None) or h.obj.product.slug for h in results.hits]


# Words that are not misspellings of anything in the catalogue (or are too short to tell):
# never "corrected", least of all into pinyin syllables.
NOT_MISSPELLINGS = [
    "lime",
    "limes",
    "pizza",
    "li",
    "xyz",
    "a",
    "q",
    "x",
    "7",
    "12345",
    "apple",
    "sushi",
    "tofu",
    "kiwi",
    "durian",
    "cheese",
    "salmon",
    "lion",
    "mine",
    "wine",
    "beer",
    "hello",
    "zzzqqqxx",
    "ab",
    "lim",
    "bean",
]


@pytest.mark.parametrize("word", NOT_MISSPELLINGS)
def test_unrelated_words_are_not_corrected(search_app, word):
    results = service.search(word, SearchFilters(), 1, 24)
    assert results.suggestion is None and not results.corrected
    if not results.hits:
        assert results.no_correction


@pytest.mark.parametrize("word", ["lime", "pizza", "salmon", "xyz"])
def test_no_close_word_says_so_and_shows_places(search_app, word):
    client = search_app.test_client()
    html = client.get(f"/search?q={word}&lang=en").get_data(as_text=True)
    assert "Showing results for" not in html and "Did you mean" not in html
    assert "no similar word in the catalogue" in html
    assert "/counties/" in html and "/categories/" in html
    assert 'class="result-title"' not in html
    zh = client.get(f"/search?q={word}&lang=zh").get_data(as_text=True)
    assert "no similar word" not in zh  # translated


@pytest.mark.parametrize(
    ("word", "length", "edits"),
    [
        ("li", 2, 0),
        ("tea", 3, 0),
        ("lime", 4, 1),
        ("cofee", 5, 1),
        ("wenchng", 7, 2),
    ],
)
def test_allowed_edits_grow_with_length(word, length, edits):
    assert len(word) == length and spelling.max_edits(length) == edits


# (typed, a vocabulary word) pairs of every kind of edit: the letter-set bound that spares
# most edit-distance computations must never exceed the edits between them.
EDIT_PAIRS = [
    ("cofee", "coffee"),  # letter dropped
    ("pepperr", "pepper"),  # letter doubled
    ("wenchnag", "wenchang"),  # letters swapped
    ("lychie", "lychee"),  # substituted
    ("qionhia", "qionghai"),  # dropped and swapped
    ("xylophone", "saxophone"),  # several substitutions
    ("abcdef", "uvwxyz"),  # nothing in common
    ("Mango", "mango"),  # case
    ("aaaa", "bbbb"),
    ("abab", "baba"),
    ("banana", "bandana"),
    ("wanign", "wanning"),
]


@pytest.mark.parametrize(("typed", "word"), EDIT_PAIRS)
def test_letter_sets_never_rule_out_a_word_within_reach(typed, word):
    from whoosh.support.levenshtein import damerau_levenshtein

    apart = (spelling._letter_set(typed) ^ spelling._letter_set(word)).bit_count()
    assert apart <= 2 * damerau_levenshtein(typed.lower(), word.lower())


VOCABULARY = {
    "coffee": 40,
    "toffee": 2,
    "lychee": 30,
    "pepper": 25,
    "paper": 1,
    "wenchang": 90,
    "wanning": 50,
    "qionghai": 60,
    "mango": 70,
    "mangosteen": 3,
}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("cofee", "coffee"),  # toffee is as close: the more frequent word wins
        ("lychie", "lychee"),
        ("peper", "pepper"),
        ("wenchnag", "wenchang"),
        ("wanign", "wanning"),
        ("qionhai", "qionghai"),
        ("mangoo", "mango"),  # mango splits into pinyin (mang-o): typing slips only
        ("mnago", "mango"),
        ("mangoe", None),
        ("zzzzzz", None),
        ("spaceship", None),
        ("mango", None),  # known
    ],
)
def test_corrections_from_a_vocabulary(typed, expected):
    assert spelling.correction_for(typed, VOCABULARY) == expected


def test_single_syllables_and_initials_are_never_corrections(search_app):
    vocabulary = spelling_vocabulary()
    assert vocabulary and "li" not in vocabulary and "wcj" not in vocabulary
    assert not any(w in text.pinyin_syllables() for w in vocabulary)
    assert spelling.correction_for("lime", vocabulary) is None
    assert spelling.correction_for("salmon", vocabulary) is None  # not sanmen


# --- c) compound query words ----------------------------------------------------------------

# (a form or part of a product, the product it must find)
COMPOUNDS = [
    ("咖啡粉", "xinglong-coffee"),
    ("咖啡粉", "fushan-coffee"),
    ("咖啡豆", "xinglong-coffee"),
    ("荔枝干", "yongxing-lychee"),
    ("椰子汁", "wenchang-coconut"),
    ("椰子片", "wenchang-coconut"),
    ("黑猪肉", "tunchang-black-pig"),
    ("文昌鸡肉", "wenchang-chicken"),
    ("和乐蟹肉", "hele-crab"),
    ("芒果干", "sanya-mango"),
    ("胡椒粉", "dapo-pepper"),
    ("红茶叶", "wuzhishan-black-tea"),
    ("绿茶叶", "baisha-green-tea"),
    ("槟榔苗", "wanning-areca-nut"),
    ("地瓜粉", "chengmai-qiaotou-sweet-potato"),
    ("芒果汁", "changjiang-mango"),
    ("香蕉片", "ledong-banana"),
    ("柠檬汁", "wanning-lemon"),
    ("淮山粉", "yunlong-yam"),
    ("番石榴汁", "qionghai-guava"),
    ("荔枝酱", "lingshui-lychee"),
    ("五指山红茶叶", "wuzhishan-black-tea"),
    ("莲雾汁", "sanya-wax-apple"),
    ("东山羊肉", "wanning-dongshan-goat"),
    ("哈密瓜汁", "sanya-muskmelon"),
    ("红毛丹干", "baoting-rambutan"),
    ("鲜荔枝", "sanmenpo-lychee"),
]


@pytest.mark.parametrize(("query", "expected"), COMPOUNDS)
def test_a_form_or_part_of_a_product_finds_it(search_app, query, expected):
    assert expected in slugs(query)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("兴隆咖啡", "product:xinglong-coffee"),
        ("文昌鸡", "product:wenchang-chicken"),
        ("和乐蟹", "product:hele-crab"),
        ("屯昌黑猪", "product:tunchang-black-pig"),
        ("五指山红茶", "product:wuzhishan-black-tea"),
        ("三门坡荔枝", "product:sanmenpo-lychee"),
        ("万宁东山羊", "product:wanning-dongshan-goat"),
        ("椰子", "product:wenchang-coconut"),
    ],
)
def test_exact_names_stay_ahead_of_part_and_synonym_matches(search_app, query, expected):
    first = service.search(query, SearchFilters(), 1, 1).hits[0]
    assert f"{first.key.kind}:{first.obj.slug}" == expected


def test_a_whole_unknown_word_is_not_dropped(search_app):
    # 海南 alone would find everything; the crab must lead.
    assert slugs("海南螃蟹")[0] == "hele-crab"
    assert words.catalogue_parts("海南螃蟹", lexicon()) == []


# --- d) synonyms ------------------------------------------------------------------------------

# (everyday, regional or other-language name, the product it must find)
COLLOQUIAL = [
    ("螃蟹", "hele-crab"),
    ("crabs", "hele-crab"),
    ("椰青", "wenchang-coconut"),
    ("椰果", "wenchang-coconut"),
    ("杧果", "sanya-mango"),
    ("丹荔", "yongxing-lychee"),
    ("litchi", "lingshui-lychee"),
    ("lichee", "sanmenpo-lychee"),
    ("黑山羊", "wanning-dongshan-goat"),
    ("香猪", "tunchang-black-pig"),
    ("土猪", "dingan-black-pig"),
    ("芭乐", "qionghai-guava"),
    ("番薯", "chengmai-qiaotou-sweet-potato"),
    ("红薯", "chengmai-qiaotou-sweet-potato"),
    ("山药", "yunlong-yam"),
    ("小番茄", "lingshui-cherry-tomato"),
    ("韶子", "baoting-rambutan"),
    ("毛荔枝", "baoting-rambutan"),
    ("洋蒲桃", "sanya-wax-apple"),
    ("蕹菜", "duowen-water-spinach"),
    ("野鸡", "bawangling-hill-chicken"),
    ("走地鸡", "wenchang-chicken"),
    ("coffee beans", "xinglong-coffee"),
    ("cantaloupe", "sanya-muskmelon"),
    ("betel nut", "wanning-areca-nut"),
    ("wampi", "yongxing-wampee"),
    ("rose apple", "yunlong-wax-apple"),
    ("pheasant", "bawangling-hill-chicken"),
    ("和乐螃蟹", "hele-crab"),
    ("螃蟹 ", "hele-crab"),
]


@pytest.mark.parametrize(("query", "expected"), COLLOQUIAL)
def test_everyday_names_find_the_product(search_app, query, expected):
    assert expected in slugs(query)


def test_synonym_edits_apply_to_the_next_search_without_reindex(search_app):
    assert slugs("榴莲") == []
    group = synonym_service.save_group(None, "榴莲，莲雾", "test", None)
    db.session.commit()
    try:
        assert "sanya-wax-apple" in slugs("榴莲")
        synonym_service.save_group(group, "榴莲, 芒果", "test", None)
        db.session.commit()
        found = slugs("榴莲")
        assert "sanya-mango" in found and "sanya-wax-apple" not in found
    finally:
        synonym_service.delete_group(group, None)
        db.session.commit()
    assert slugs("榴莲") == []


@pytest.mark.parametrize(
    ("raw", "terms"),
    [
        ("螃蟹，蟹, Crab", ["螃蟹", "蟹", "crab"]),
        ("椰青、椰子;椰果", ["椰青", "椰子", "椰果"]),
        ("ＣＲＡＢ\n螃蟹\n螃蟹", ["crab", "螃蟹"]),
        ("荔枝, 離枝", ["荔枝", "离枝"]),
        ("wax  apple, 莲雾", ["wax apple", "莲雾"]),
        ("\u200b螃\u200b蟹, 蟹", ["螃蟹", "蟹"]),
    ],
)
def test_synonym_terms_are_normalised_like_queries(raw, terms):
    assert synonym_service.parse_terms(raw) == terms


@pytest.mark.parametrize("raw", ["", "螃蟹", "螃蟹, 螃蟹", " , ，", "x" * 51 + ", y"])
def test_synonym_groups_need_two_distinct_short_words(raw):
    with pytest.raises(synonym_service.SynonymInvalid):
        synonym_service.parse_terms(raw)


def test_the_seed_has_a_few_dozen_synonym_groups(search_app):
    assert db.session.scalar(select(func.count(SynonymGroup.id))) >= 30


# --- the back-office screen (a fresh database each: it writes) ------------------------------


@pytest.fixture
def admin_app(database_factory, tmp_path, media_root, engine):
    yield from serve_indexed(database_factory, tmp_path, media_root, engine)


# A newer seed file reaching an installed site: (the group there, the seed row, the
# groups afterwards). One group per head word; the officials' own words stay.
SEED_UPDATES = [
    (["荔枝,lychee"], ["荔枝", "lychee", "lichi"], ["荔枝,lychee,lichi"]),
    (["荔枝,lychee,离枝"], ["荔枝", "litchi"], ["荔枝,lychee,离枝,litchi"]),
    (["荔枝,lychee"], ["荔枝", "Lychee", "ＬＹＣＨＥＥ"], ["荔枝,lychee"]),
    (["lychee,荔枝"], {"terms": ["荔枝", "lichi"]}, ["lychee,荔枝,lichi"]),
    (["荔枝,lychee"], ["螃蟹", "crab"], ["荔枝,lychee", "螃蟹,crab"]),
    ([], ["螃蟹", "crab"], ["螃蟹,crab"]),
    (["蟹,和乐蟹", "螃蟹,crab"], ["螃蟹", "蟹"], ["蟹,和乐蟹", "螃蟹,crab,蟹"]),
]


@pytest.mark.parametrize(("installed", "row", "after"), SEED_UPDATES)
def test_a_newer_seed_file_grows_groups_instead_of_repeating_them(admin_app, installed, row, after):
    with admin_app.app_context():
        db.session.execute(delete(SynonymGroup))
        db.session.add_all(SynonymGroup(terms=terms, note="") for terms in installed)
        db.session.flush()
        synonym_service.seed_groups([row])
        db.session.commit()
        assert sorted(g.terms for g in synonym_service.all_groups()) == sorted(after)


def test_reviewers_add_edit_and_delete_synonyms_audited(admin_app):
    make_users()
    client = admin_app.test_client()
    assert login(client, "reviewer").status_code == 302
    assert client.get("/admin/synonyms/").status_code == 200
    token = csrf_token(client, "/admin/synonyms/new")
    assert client.post("/admin/synonyms/new", data={"terms": "榴莲"}).status_code == 400  # CSRF
    bad = client.post("/admin/synonyms/new", data={"csrf_token": token, "terms": "榴莲"})
    assert bad.status_code == 400 and "请至少输入两个" in bad.get_data(as_text=True)
    response = client.post(
        "/admin/synonyms/new", data={"csrf_token": token, "terms": "榴莲, 莲雾", "note": "x"}
    )
    assert response.status_code == 302
    group = db.session.scalar(select(SynonymGroup).where(SynonymGroup.terms == "榴莲,莲雾"))
    assert group is not None
    page = client.get("/search?q=榴莲").get_data(as_text=True)
    assert "/products/sanya-wax-apple" in page
    response = client.post(
        f"/admin/synonyms/{group.id}/edit",
        data={"csrf_token": token, "terms": "榴莲, 芒果", "note": ""},
    )
    assert response.status_code == 302
    assert "/products/sanya-mango" in client.get("/search?q=榴莲").get_data(as_text=True)
    group_id = group.id
    response = client.post(f"/admin/synonyms/{group_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert db.session.get(SynonymGroup, group_id) is None
    actions = list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "synonym")
            .order_by(AuditEntry.seq)
        )
    )
    assert actions == ["synonym_create", "synonym_update", "synonym_delete"]


@pytest.mark.parametrize("role", ["editor_a", "editor_b"])
def test_editors_cannot_change_synonyms(admin_app, role):
    make_users()
    client = admin_app.test_client()
    login(client, role)
    token = csrf_token(client, "/admin/")
    before = db.session.scalar(select(func.count(SynonymGroup.id)))
    assert client.get("/admin/synonyms/").status_code == 403
    response = client.post("/admin/synonyms/new", data={"csrf_token": token, "terms": "榴莲, 莲雾"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(SynonymGroup.id))) == before


# --- e) invisible characters ------------------------------------------------------------------

INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\ufeff",
    "\u2060",
    "\u00ad",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202c",
    "\u2066",
    "\u061c",
    "\u180e",
    "\u034f",  # combining grapheme joiner (default-ignorable, not Cf)
    "\ufe0f",  # variation selector-16, as emoji keyboards add
    "\u115f",  # Hangul choseong filler (default-ignorable)
]
# (query, where to put the character)
PLACES = [
    ("文昌鸡", 1),
    ("文昌鸡", 2),
    ("文昌鸡", 0),
    ("文昌鸡", 3),
    ("和乐蟹", 2),
    ("wenchangji", 4),
    ("wcj", 1),
    ("Wenchang chicken", 3),
    ("Wenchang chicken", 8),
    ("兴隆咖啡", 2),
    ("coffee", 3),
]


@pytest.mark.parametrize("char", INVISIBLE)
@pytest.mark.parametrize(("query", "at"), PLACES)
def test_invisible_characters_never_split_a_word(search_app, char, query, at):
    assert keys(query[:at] + char + query[at:]) == keys(query)


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_characters_in_suggest_and_the_page(search_app, char):
    client = search_app.test_client()
    for prefix in ("文昌", "wench", "wcj"):
        plain = client.get(f"/search/suggest?q={prefix}").get_json()
        typed = client.get(f"/search/suggest?q={prefix[0]}{char}{prefix[1:]}").get_json()
        assert typed == plain and plain["suggestions"]
    page = client.get(f"/search?q=文{char}昌鸡").get_data(as_text=True)
    assert "/products/wenchang-chicken" in page and char not in page


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("文\u200b昌鸡", "文昌鸡"),
        ("\ufeffwenchangji", "wenchangji"),
        ("wen\u00adchang", "wenchang"),
        ("ｗｅｎｃｈａｎｇ", "wenchang"),
        ("文昌\u3000鸡", "文昌 鸡"),
        ("ﬁsh", "fish"),
        ("①", "1"),
        ("文昌雞", "文昌鸡"),
        ("\u202e蟹乐和\u202c", "蟹乐和"),
        ("DEMO\u2014TM\u20140001", "DEMO-TM-0001"),
        ("DEMO\u2013TM\u22120001", "DEMO-TM-0001"),
        ("DEMO\uff0dTM\ufe630001", "DEMO-TM-0001"),
        ("文\ufe0f昌鸡", "文昌鸡"),
        # pinyin as printed, with tone marks: as the index holds it
        ("wénchāng jī", "wenchang ji"),
        ("Wénchāngjī", "Wenchangji"),
        ("hélèxiè", "helexie"),
        ("lǜchá", "lvcha"),
        ("LǛCHÁ", "LVCHA"),
        ("nǚ", "nv"),
        ("Xīnglóng kāfēi", "Xinglong kafei"),
        ("wénchāng chicken", "wenchang chicken"),
        ("café", "café"),  # not pinyin: left as typed
        ("Ding\u2019an", "Ding\u2019an"),
    ],
)
def test_the_query_normaliser(raw, clean):
    assert text.clean_query(raw) == clean


@pytest.mark.parametrize("dash", ["\u2014", "\u2013", "\u2212", "\u2010", "\uff0d", "\ufe58"])
def test_a_reference_number_with_any_dash_finds_what_the_ascii_one_finds(search_app, dash):
    """One normaliser for everything typed (issue 8, kind 2): the search box unifies dash
    forms as /verify does."""
    wanted = keys("DEMO-TM-0001")
    assert wanted and keys(f"DEMO{dash}TM{dash}0001") == wanted


# --- break-test variants: one-character heads, suffixes without a base, English spellings -----

# (a form or part of an animal or product named by one character, products it must find)
HEAD_FORMS = [
    ("鸡肉", {"wenchang-chicken", "danzhou-chicken"}),
    ("鸭肉", {"jiazi-mallard"}),
    ("鸡蛋", {"wenchang-chicken"}),
    ("鸡汤", {"danzhou-chicken"}),
    ("鹅肉", {"chengmai-bailian-goose"}),
    ("羊肉", {"wanning-dongshan-goat", "shishan-yong-goat"}),
    ("猪肉", {"dingan-black-pig", "tunchang-black-pig"}),
    ("鸭蛋", {"jiazi-mallard"}),
    ("蟹肉", {"hele-crab"}),
    ("鸡翅", {"wenchang-chicken"}),
    ("猪蹄", {"wuzhishan-wujiao-pig"}),
    ("羊排", {"wanning-dongshan-goat"}),
    ("鹅蛋", {"chengmai-bailian-goose"}),
    ("鸭血", {"jiazi-mallard"}),
    ("蟹黄", {"hele-crab"}),
    ("海南鸡蛋", {"wenchang-chicken"}),
    ("鷄肉", {"wenchang-chicken"}),  # traditional 鷄
]


@pytest.mark.parametrize(("query", "expected"), HEAD_FORMS)
def test_a_form_of_a_one_character_head_finds_its_products(search_app, query, expected):
    found = slugs(query)
    assert expected <= set(found), found


@pytest.mark.parametrize(
    ("query", "exact", "part"),
    [
        ("文昌鸡", "wenchang-chicken", "鸡肉"),
        ("定安黑猪", "dingan-black-pig", "猪肉"),
        ("万宁东山羊", "wanning-dongshan-goat", "羊肉"),
        ("澄迈白莲鹅", "chengmai-bailian-goose", "鹅肉"),
    ],
)
def test_head_matches_rank_below_exact_names(search_app, query, exact, part):
    assert service.search(query, SearchFilters(), 1, 1).hits[0].obj.slug == exact
    assert exact in slugs(part)


# A form or part (干, 汁, 酱, 粉, juice, chips) after a base the catalogue does not have, or a
# word whose first character merely ends a product name (榴 of 番石榴, 果 of 芒果): nothing,
# and the related places, never unrelated products found by the suffix alone.
SUFFIX_WITHOUT_BASE = [
    "菠萝干",
    "苹果干",
    "苹果汁",
    "菠萝汁",
    "葡萄汁",
    "草莓酱",
    "牛肉干",
    "榴莲干",
    "苹果粉",
    "苹果 汁",
    "菠萝 干",
    "榴莲",
    "苹果",
    "pineapple juice",
    "durian chips",
    "strawberry jam",
]


@pytest.mark.parametrize("query", SUFFIX_WITHOUT_BASE)
def test_a_suffix_without_a_catalogue_base_finds_nothing(search_app, query):
    assert slugs(query) == []
    html = search_app.test_client().get("/search", query_string={"q": query}).get_data(True)
    assert 'class="result-title"' not in html
    assert "/counties/" in html and "/categories/" in html


@pytest.mark.parametrize(
    ("query", "head"),
    [("芒果汁", "芒"), ("芒果干", "芒"), ("mango juice", "芒"), ("咖啡粉", "咖"), ("椰子汁", "椰")],
)
def test_a_suffix_with_a_base_finds_only_the_base(search_app, query, head):
    from app.search.fallback import label_of

    results = service.search(query, SearchFilters(), 1, 100)
    assert results.hits
    for hit in results.hits:
        name = label_of(hit.key.kind, hit.obj)["zh"]
        assert head in name, (query, name)


# English spellings of lychee are synonyms (seed/synonyms.yaml), found as typed.
@pytest.mark.parametrize("word", ["lichi", "litchi", "lichee", "lychee", "leechee", "litchis"])
def test_english_spellings_of_lychee_find_lychees_uncorrected(search_app, word):
    results = service.search(word, SearchFilters(), 1, 24)
    assert results.suggestion is None and not results.corrected
    assert "lingshui-lychee" in slugs(word)


# English words one or two letters from a place's pinyin: never "corrected" into pinyin.
NOT_INTO_PINYIN = [
    "lichi",
    "warning",
    "winning",
    "wanting",
    "sonya",
    "helen",
    "hole",
    "haiku",
    "lingo",
    "boating",
    "bating",
    "batting",
    "jazz",
    "yellow",
    "tango",
    "landing",
    "washing",
    "dancing",
    "sanded",
    "hiking",
    "lizzie",
]


@pytest.mark.parametrize("word", NOT_INTO_PINYIN)
def test_english_words_are_never_corrected_into_pinyin(search_app, word):
    reader = lexicon()
    results = service.search(word, SearchFilters(), 1, 24)
    suggested = (results.suggestion or "").split()
    assert not any(("pinyin", w) in reader for w in suggested), results.suggestion


# Pinyin typed with the slips of typing or the fuzzy syllables of an input method.
PINYIN_SLIPS = [
    ("wannign", "wanning"),  # letters swapped
    ("wenchanh", "wenchang"),  # neighbouring key
    ("wenchangg", "wenchang"),  # doubled
    ("danzou", "danzhou"),  # zh typed z
    ("qiongzhng", "qiongzhong"),  # letter dropped
    ("lingsui", "lingshui"),  # sh typed s
    ("wenzhang", "wenchang"),  # ch typed zh: not an input-method fuzzy pair
]


@pytest.mark.parametrize(("typed", "meant"), PINYIN_SLIPS)
def test_pinyin_typing_slips_are_corrected(search_app, typed, meant):
    reader, vocabulary = lexicon(), spelling_vocabulary()
    pinyin = frozenset(w for w in vocabulary if ("pinyin", w) in reader)
    found = spelling.correction_for(typed, vocabulary, pinyin)
    if typed == "wenzhang":
        assert found != meant
    else:
        assert found == meant
