"""Text as people type, paste and scan it: one place for both questions every input raises.

1. What did the person mean? `clean_text` undoes what input methods, chat apps and word
   processors add (full-width forms from a Chinese IME, zero-width spaces, byte-order marks,
   bidi marks, soft hyphens); `normalize_code` builds on it for reference codes (credit
   codes, short codes, authorization, announcement and trademark numbers), which also have
   one dash, one case and no spaces.
2. Can it be stored at all? `unstorable` finds the characters that a text column must never
   hold: PostgreSQL refuses NUL, neither database can encode a lone surrogate, and the other
   C0/C1 controls and Unicode noncharacters have no place in text. `check_storable` raises
   `UnstorableText` for them; forms (app/forms.py), bulk import and the CLI call it at the edge.

Plain functions over str, no Flask: the search package may call `clean_text` too."""

import enum
import re
import unicodedata

# Invisible characters: General_Category Cf, plus the Default_Ignorable_Code_Point characters
# that are not Cf (Unicode 15.1, DerivedCoreProperties.txt): combining grapheme joiner,
# Hangul fillers, Khmer inherent vowels, Mongolian variation selectors, variation selectors.
# A test compares this class with unicodedata over every code point.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Surrogates and noncharacters (U+FDD0..U+FDEF, and the last two code points of each plane),
# as the inside of a regex character class.
_SURROGATES_NONCHARACTERS = "\ud800-\udfff\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
# What no text column may hold (see the module docstring). Tab, newline and carriage return
# stay: browsers send a textarea's line breaks as CR LF (HTML, "form submission").
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _SURROGATES_NONCHARACTERS + "]")
# In clean text, a control character stands between words: it becomes a space.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE_OR_NONCHARACTER = re.compile("[" + _SURROGATES_NONCHARACTERS + "]")
# Every dash and minus (General_Category Pd except the wave dashes, which mean "to", and the
# minus signs and look-alikes of Sm/Lm/Po) -> "-". U+30FC (katakana-hiragana prolonged sound
# mark, "ー") is what a Chinese or Japanese IME often gives for "-"; no code contains kana.
_DASHES = dict.fromkeys(
    map(
        ord,
        "\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2796"
        "\u02d7\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d\u30a0\u30fc\ufe31\ufe32\ufe58\ufe63"
        "\uff0d\uff70\U00010ead",
    ),
    "-",
)
_DASH_RUN = re.compile(r"-{2,}")
# Quotes around a pasted code, and sentence punctuation after it; brackets only when
# unmatched ("(ABCD1234)" loses both, "〔2023〕12号" keeps its year).
_QUOTES_BEFORE = "\"'“‘„‚«‹「『《〈〝<"
_AFTER = "\"'”’»›」』》〉〞〟>.,;:!?。，；：！？、…/\\"
_BRACKETS = {"(": ")", "[": "]", "【": "】", "〔": "〕", "〖": "〗", "{": "}"}
_CLOSERS = {close: open_ for open_, close in _BRACKETS.items()}
# GB/T 9704-2012 writes the year of a document number in 〔〕; people type [], 【】 or ().
_BRACKETED_YEAR = re.compile(r"[\[【〖(（〔]\s*(\d{4})\s*[\]】〗)）〕]")
# A label pasted with the code ("统一社会信用代码：", "Credit code:", "授权编号∶"): everything
# up to the last colon (after NFKC, full-width and small colons are ":"; U+2236 RATIO is what
# some Chinese fonts and IMEs give). No code here contains a colon, so what precedes one is
# never part of the code.
_LABEL_BY_COLON = re.compile(r"^.*[:\u2236\ua789]")
# "No. 123", "Nr.123", "#123", "№ 123" (NFKC makes № "No"): a number sign before the code.
# Only with its dot or as "#" or "№" (normalize_code writes № as "No."): "NO12345X" may
# itself be a short code (O reads as 0).
_NUMBER_SIGN = re.compile(r"^(?:(?:no|nr|n°|nº)\s*\.|#)\s*", re.IGNORECASE)
# In reference numbers, a run of separators between two ASCII letters or digits is the
# number's hyphen: "DEMO AUTH 2023 001", "DEMO_AUTH_2023_001", "demo.auth.2023.001",
# "DEMO / AUTH - 2023" all mean DEMO-AUTH-2023-…, as printed. Between Chinese characters and
# digits ("第 31363028 号") spaces mean nothing and are dropped.
_REFERENCE_SEPARATORS = re.compile(r"(?<=[0-9A-Za-z])[\s_./\\·・•-]+(?=[0-9A-Za-z])")


# Codes without separators (credit codes, short codes) as people group them: underscores and
# middle dots are dropped like spaces and dashes ("1YJB_QJSW", "1YJB·QJSW").
_GROUPING_MARKS = re.compile(r"[_\u00b7\u30fb\u2022\u2027]")


class CodeKind(enum.Enum):
    CREDIT_CODE = "credit_code"  # GB 32100-2015: 18 characters, no separators, upper case
    SHORT_CODE = "short_code"  # our printed codes: 8 Crockford base-32 characters
    REFERENCE = "reference"  # authorization, announcement, certificate, trademark numbers


def clean_text(text: str | None) -> str:
    """Plain text as meant: invisible characters (Cf, default-ignorables) removed, lone
    surrogates and noncharacters removed, Unicode NFKC (full-width -> ASCII, NBSP and the
    ideographic space -> space, compatibility forms folded), other control characters ->
    space. Spaces, tabs and newlines are kept; nothing is trimmed."""
    if not text:
        return ""
    if text.isascii() and text.isprintable():
        return text
    text = _INVISIBLE.sub("", text)
    text = _SURROGATE_OR_NONCHARACTER.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    return _CONTROL.sub(" ", text)


def unify_dashes(text: str) -> str:
    """Every dash and minus form (see _DASHES) as "-": DEMO—TM—0001 is DEMO-TM-0001."""
    return text.translate(_DASHES)


def strip_wrapping(text: str) -> str:
    """Whitespace, quotes and opening brackets before a pasted code; whitespace, closing
    brackets, sentence punctuation and slashes after it ("ABCD1234。", "(ABCD1234)", "…/")."""
    while True:
        before = text
        text = text.strip()
        while text and text[0] in _QUOTES_BEFORE:
            text = text[1:]
        while text and text[-1] in _AFTER:
            text = text[:-1]
        if text and text[0] in _BRACKETS and _BRACKETS[text[0]] not in text:
            text = text[1:]
        if text and text[-1] in _CLOSERS and _CLOSERS[text[-1]] not in text:
            text = text[:-1]
        # Matched brackets around the whole code: "(ABCD1234)", "【DEMO-AUTH-2023-001】"; not
        # "〔2023〕12号" (a year inside) nor "(a)(b)".
        opener = text[:1]
        if opener in _BRACKETS and text.endswith(_BRACKETS[opener]) and text.count(opener) == 1:
            text = text[1:-1]
        if text == before:
            return text


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit (General_Category Nd: Arabic-Indic ٣, Persian ۳,
    Devanagari ३, Thai ๓, Bengali ৩ …) as its ASCII digit; NFKC alone leaves these."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(char)) if _is_foreign_digit(char) else char for char in text
    )


def _is_foreign_digit(char: str) -> bool:
    return not char.isascii() and unicodedata.decimal(char, None) is not None


def strip_label(text: str) -> str:
    """`text` without a pasted label before the code: anything up to the last colon
    ("统一社会信用代码：9146…", "Credit code: 9146…") or a number sign ("No. 123", "#123").
    Text with nothing after the label is returned as it was (the label was the text)."""
    for label in (_LABEL_BY_COLON, _NUMBER_SIGN):
        rest = label.sub("", text, count=1)
        if rest.strip():
            text = strip_wrapping(rest)
    return text


# A label word before a credit code without a colon: a run of Chinese (or other non-ASCII)
# characters ("统一社会信用代码 9146…", a table row's company name, a label on the line
# above), or a word of Latin letters ("Credit code 9146…", "USCC 9146…").
_CREDIT_CODE_LABEL_WORD = re.compile(r"^(?:[^\x00-\x7f]+\s*|[A-Za-z]+\.?\s+)")
CREDIT_CODE_LENGTH = 18  # GB 32100-2015


def _strip_credit_code_label(text: str) -> str:
    """`text` without the label words before a credit code that were pasted without a
    colon. Words go from the front only while 18 characters (GB 32100-2015) remain after
    them, so a code grouped as "Y123 4567 …" keeps its leading group and a 17-character
    code behind a label is still reported as malformed."""
    while True:
        found = _CREDIT_CODE_LABEL_WORD.match(text)
        if found is None:
            return text
        rest = text[found.end() :]
        if len("".join(rest.split()).replace("-", "")) < CREDIT_CODE_LENGTH:
            return text
        text = rest


def normalize_code(raw: str | None, kind: CodeKind) -> str:
    """The canonical form of a code as typed, pasted or scanned: clean_text, a leading
    label and wrapping punctuation stripped (strip_label, strip_wrapping), every decimal
    digit as ASCII, every dash form -> "-" (runs of dashes -> one), all whitespace dropped,
    upper case (every code here is case-free). Credit codes and short codes have no
    separators, so their dashes go too; reference numbers keep one "-" for every separator
    typed between letters and digits (spaces, underscores, dots, slashes; see
    _REFERENCE_SEPARATORS) and write a bracketed year as 〔2023〕 (GB/T 9704-2012). Check
    characters are not checked here (see app/models/enterprises.py and
    app/services/codes.py)."""
    text = unify_dashes(ascii_digits(clean_text((raw or "").replace("\u2116", "No."))))
    text = strip_label(strip_wrapping(text))
    if kind is CodeKind.CREDIT_CODE:
        text = _strip_credit_code_label(text)
    if kind is CodeKind.REFERENCE:
        text = _BRACKETED_YEAR.sub(r"〔\1〕", text)
        text = _REFERENCE_SEPARATORS.sub("-", text)
    text = "".join(text.split()).upper()
    if kind is CodeKind.REFERENCE:
        return _DASH_RUN.sub("-", text).strip("-")
    return _GROUPING_MARKS.sub("", text.replace("-", ""))


# --- what a database cannot store -------------------------------------------------------------


class UnstorableText(ValueError):
    """`text` holds a character no text column may store; `char` is the first one,
    `position` its 1-based place (what a person counts)."""

    def __init__(self, char: str, position: int) -> None:
        super().__init__(f"unstorable character {describe(char)} at position {position}")
        self.char = char
        self.position = position

    @property
    def described(self) -> str:
        return describe(self.char)

    @property
    def message(self):
        """For a person, translated lazily (the caller names the field or column)."""
        from flask_babel import lazy_gettext as _l

        return _l(
            "A character that cannot be saved (%(char)s, character %(position)s). Remove it "
            "and try again.",
            char=self.described,
            position=self.position,
        )


def describe(char: str) -> str:
    """ "U+0000", "U+FFFF": how an invisible character can be named to a person."""
    return f"U+{ord(char):04X}"


def unstorable(text: str) -> UnstorableText | None:
    """The first character of `text` that must not be stored, as an exception to raise
    or report, or None when the whole text can be stored."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return UnstorableText(found.group(), found.start() + 1)


def check_storable(text: str) -> str:
    """`text` unchanged, or UnstorableText (a ValueError) for its first bad character."""
    problem = unstorable(text)
    if problem is not None:
        raise problem
    return text
