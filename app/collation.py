"""The one sort order for names shown to people (issue 11, "Order"): pinyin in Chinese,
A-Z in English, never code-point order (which puts 儋州 before 白沙).

Every list a person reads (counties, categories, products, dropdowns) sorts with
`name_key` or `by_name`, so a list cannot disagree with another about what comes first."""

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar


class Named(Protocol):
    name_zh: str
    name_en: str | None


T = TypeVar("T")


def name_key(name_zh: str, name_en: str | None, lang: str) -> tuple[str, ...]:
    """Sort key of a bilingual name.

    zh: the toneless pinyin of the Chinese name ("bai sha"; place names read as their
    slugs do, e.g. 长 in 长丰 as chang), then the name itself to order homophones stably.
    en: the English name case-folded; a row without one sorts by its pinyin, the way the
    page shows it (Chinese with a note) between its English neighbours."""
    # Imported here, not above: the catalogue service sorts with this module, and importing
    # app.search at load time would import the catalogue again (search results use its
    # Pagination) before it is defined.
    from app.search.text import syllables

    pinyin = " ".join(syllables(name_zh))
    if lang == "en" and name_en:
        return (name_en.casefold(), pinyin, name_zh)
    return (pinyin, name_zh)


def by_name(items: Iterable[T], lang: str, named: Callable[[T], Named] | None = None) -> list[T]:
    """items sorted by name_key; named picks the named object out of an item (e.g. the
    county of a (county, count) pair)."""

    def key(item: T) -> tuple[str, ...]:
        obj: Named = named(item) if named else item  # type: ignore[assignment]
        return name_key(obj.name_zh, obj.name_en, lang)

    return sorted(items, key=key)
