"""The index's words, shared by the queries, the highlighting and the synonyms: a piece of
text analysed as the index analyses it, and the catalogue words a Chinese query word is
made of."""

from app.search.schema import mixed_analyzer

_analyzer = mixed_analyzer()


def analyze(piece: str) -> list[str]:
    return [t.text for t in _analyzer(piece)]


def _known(word: str, reader) -> bool:
    if ("name", word) in reader or ("place", word) in reader:
        return True
    return len(word) <= 2 and ("name_chars", word) in reader


def catalogue_parts(piece: str, reader) -> list[str]:
    """The catalogue words (names and places, not descriptions) a Chinese query word is
    made of, read greedily from the left, longest first, skipping what is no catalogue
    word: 咖啡粉 -> [咖啡], 和乐蟹肉 -> [和乐蟹], 黑猪肉 -> [黑猪], 鲜荔枝 -> [荔枝]. Only
    when exactly one character is skipped: a form or part (粉, 干, 汁, 肉, 叶, 苗...) or a
    qualifier (鲜); with nothing skipped the query's own words already cover it, and a
    whole unknown word (海南螃蟹) is not dropped."""
    parts, skipped, index = [], 0, 0
    while index < len(piece):
        for end in range(len(piece), index + 1, -1):
            if _known(piece[index:end], reader):
                parts.append(piece[index:end])
                index = end
                break
        else:
            skipped += 1
            index += 1
    return parts if parts and skipped == 1 else []
