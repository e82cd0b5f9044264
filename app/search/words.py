"""The index's words, shared by the queries, the highlighting and the synonyms: a piece of
text analysed as the index analyses it, the catalogue words a Chinese query word is made
of, and which query words name something in the catalogue at all."""

from app.search import text
from app.search.schema import mixed_analyzer

_analyzer = mixed_analyzer()


def analyze(piece: str) -> list[str]:
    return [t.text for t in _analyzer(piece)]


def _known(word: str, reader) -> bool:
    if ("name", word) in reader or ("place", word) in reader:
        return True
    return len(word) == 2 and ("name_chars", word) in reader


_heads: dict[int, tuple[object, frozenset[str]]] = {}


def product_heads(reader) -> frozenset[str]:
    """The last characters of the catalogue's Chinese product names (鸡 of 文昌鸡, 鸭 of
    嘉积鸭, 猪 of 定安黑猪, 羊 of 东山羊): in Chinese the head of a compound comes last,
    so 鸡 names what 文昌鸡 is. Read from the exact-name keywords of product documents;
    cached per reader (a new reader after each index change). An engine's own lexicon
    answers with its product_heads() method (app/search/postgresql.Lexicon)."""
    own = getattr(reader, "product_heads", None)
    if own is not None:
        return own()
    cached = _heads.get(id(reader))
    if cached is not None and cached[0] is reader:
        return cached[1]
    kinds = reader.column_reader("kind")
    heads = set()
    for raw, _info in reader.iter_field("name_exact"):
        name = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if name and text.is_cjk(name[-1]):
            postings = reader.postings("name_exact", raw)
            if any(kinds[docnum] == "product" for docnum in postings.all_ids()):
                heads.add(name[-1])
    while len(_heads) >= 16:  # a reader per thread and index version
        _heads.pop(next(iter(_heads)), None)
    found = frozenset(heads)
    _heads[id(reader)] = (reader, found)
    return found


def catalogue_parts(piece: str, reader, synonyms=None) -> list[str]:
    """The catalogue words (names and places, not descriptions) a Chinese query word is
    made of, read greedily from the left, longest first, skipping what is no catalogue
    word: 咖啡粉 -> [咖啡], 和乐蟹肉 -> [和乐蟹], 黑猪肉 -> [黑猪], 鲜荔枝 -> [荔枝]. Only
    when exactly one character is skipped: a form or part (粉, 干, 汁, 肉, 叶, 苗...) or a
    qualifier (鲜); with nothing skipped the query's own words already cover it, and a
    whole unknown word (海南螃蟹) is not dropped.

    A single character counts as a base only as a head word (head_word) with the form or
    part right after it, ending the word: 鸡肉 -> [鸡], 羊肉 -> [羊], 海南鸡蛋 -> [海南, 鸡];
    not 苹果 (果 is a head, but nothing follows it), 苹果汁 (苹 is no catalogue word, so two
    characters would be skipped) nor 榴莲 (榴 ends 番石榴 but is no word by itself)."""
    parts, skipped, index = [], 0, 0
    while index < len(piece):
        for end in range(len(piece), index + 1, -1):
            if _known(piece[index:end], reader):
                parts.append(piece[index:end])
                index = end
                break
        else:
            if index == len(piece) - 2 and head_word(piece[index], reader, synonyms):
                parts.append(piece[index])
                index += 1
            else:
                skipped += 1
                index += 1
    return parts if parts and skipped == 1 else []


def head_word(char: str, reader, synonyms=None) -> bool:
    """Whether one character is the head of product names (product_heads) and a catalogue
    word by itself (a word of a name, or a synonym term officials keep): 鸡, 鸭, 羊, 猪,
    蟹; not 榴 (番石榴's last character, no word alone: 榴莲 is a durian) nor 果."""
    if char not in product_heads(reader):
        return False
    return ("name", char) in reader or bool(synonyms and synonyms.of(char))


def names_something(word: str, reader, synonyms=None) -> bool:
    """Whether a query word (as analysed) is a catalogue word in its own right: a name or
    place word, a two-character piece of a name, or a word with synonyms. Other words
    (forms and parts: 干, 汁, juice, dried; description words) only count together with
    one that is (app/search/service.py, the loose retry)."""
    return _known(word, reader) or bool(synonyms and synonyms.of(word))
