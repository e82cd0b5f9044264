"""Illustrations shown until an official uploads a real photo of a product.

Each key names a drawing from OpenMoji 17.0.0 (CC BY-SA 4.0, https://openmoji.org), vendored
as static/vendor/openmoji/<key>.svg by `make vendor` (scripts/vendor_openmoji.py copies the
files listed here, and nothing else, from node_modules). A product's `illustration` column
(or, when empty, its category's) holds one of these keys; officials change it as data.

The label says what the drawing shows, at the level that is true: OpenMoji has no lychee,
guava, wampee or wax apple, so those products show a fruit drawing labelled "fruit".
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Illustration:
    key: str
    openmoji: str  # the OpenMoji hexcode, the file name in node_modules/openmoji/color/svg/
    label_zh: str
    label_en: str

    def text(self, field: str, lang: str) -> str:
        """Bilingual access as on the models, so templates use tr(illustration, 'label')."""
        return str(getattr(self, f"{field}_{'en' if lang == 'en' else 'zh'}"))

    @property
    def static_path(self) -> str:
        """Path under static/, for url_for('static', filename=...)."""
        return f"vendor/openmoji/{self.key}.svg"


ILLUSTRATIONS: dict[str, Illustration] = {
    i.key: i
    for i in (
        Illustration("chicken", "1F414", "鸡", "chicken"),
        Illustration("duck", "1F986", "鸭", "duck"),
        Illustration("goose", "1FABF", "鹅", "goose"),
        Illustration("goat", "1F410", "山羊", "goat"),
        Illustration("pig", "1F416", "猪", "pig"),
        Illustration("crab", "1F980", "蟹", "crab"),
        Illustration("fish", "1F41F", "鱼", "fish"),
        Illustration("coffee-beans", "E0C6", "咖啡豆", "coffee beans"),
        Illustration("tea", "1F375", "茶", "tea"),
        Illustration("salt", "1F9C2", "盐", "salt"),
        Illustration("leaf-wrapped-dumpling", "1FAD4", "叶包米食", "leaf-wrapped dumpling"),
        Illustration("rice", "1F33E", "稻穗", "rice"),
        Illustration("mango", "1F96D", "芒果", "mango"),
        Illustration("banana", "1F34C", "香蕉", "banana"),
        Illustration("pineapple", "1F34D", "菠萝", "pineapple"),
        Illustration("coconut", "1F965", "椰子", "coconut"),
        Illustration("citrus", "1F34A", "柑橘", "citrus fruit"),
        Illustration("lemon", "1F34B", "柠檬", "lemon"),
        Illustration("melon", "1F348", "甜瓜", "melon"),
        Illustration("tomato", "1F345", "番茄", "tomato"),
        Illustration("fruit-on-stems", "1F352", "水果", "fruit"),
        Illustration("fruit-cluster", "1F347", "水果", "fruit"),
        Illustration("green-fruit", "1F34F", "水果", "fruit"),
        Illustration("bell-fruit", "1F350", "水果", "fruit"),
        Illustration("leafy-greens", "1F96C", "叶菜", "leafy greens"),
        Illustration("gourd", "1F952", "瓜类蔬菜", "gourd vegetable"),
        Illustration("root-vegetable", "1FADC", "根茎", "root vegetable"),
        Illustration("sweet-potato", "1F360", "番薯", "sweet potato"),
        Illustration("ginger-root", "1FADA", "姜科根茎", "ginger-family root"),
        Illustration("spice-plant", "1F33F", "香料植物", "spice plant"),
        Illustration("leaf", "1F343", "叶子", "leaf"),
        Illustration("potted-plant", "1FAB4", "盆栽植物", "potted plant"),
        Illustration("palm", "1F334", "棕榈", "palm tree"),
        Illustration("blossom", "1F33C", "花", "blossom"),
        Illustration("textile", "1F9F5", "纺织", "textile"),
    )
}


def illustration_for(key: str | None) -> Illustration | None:
    """The registered illustration for a stored key; None for an empty or unknown key
    (a key removed from the registry shows the plain tile, never a broken image)."""
    return ILLUSTRATIONS.get(key) if key else None
