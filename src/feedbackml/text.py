"""Text handling shared by every path: normalisation, word segmentation and redaction of personal data."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

# Bumped whenever normalize() changes output, so a model can record which normalisation it was trained with.
NORMALIZATION_VERSION = 2  # 2: traditional characters become simplified

# Characters whose NFKC form would change what the writer meant (m² is not m2, ½ is not 1⁄2, ① is a list marker).
_KEEP_AS_WRITTEN = re.compile(
    "["
    "\u00b2\u00b3\u00b9\u00bc-\u00be"  # superscript digits, vulgar fractions
    "\u2070-\u209f"  # superscripts and subscripts
    "\u2150-\u218f"  # number forms: fractions, roman numerals
    "\u2460-\u24ff"  # enclosed alphanumerics: ①, ⑴, ⒈
    "\u3251-\u325f\u32b1-\u32bf"  # circled numbers 21-50
    "]+"
)
_WHITESPACE = re.compile(r"\s+")


def _is_invisible(char: str) -> bool:
    """Control, format (zero-width, BOM, bidi marks) and lone surrogate characters carry no meaning here."""
    if char in "\t\n\r\f\v":
        return False  # whitespace: collapsed below, not deleted, so words on two lines stay apart
    return unicodedata.category(char) in {"Cc", "Cf", "Cs"}


def has_invisible(text: str) -> bool:
    """True when the text holds control, zero-width or other format characters that normalize() deletes."""
    return any(_is_invisible(char) for char in text)


def _strip_invisible(text: str) -> str:
    return "".join(char for char in text if not _is_invisible(char))


def _nfkc_except_meaningful(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in _KEEP_AS_WRITTEN.finditer(text):
        pieces.append(unicodedata.normalize("NFKC", text[position : match.start()]))
        pieces.append(match.group())
        position = match.end()
    pieces.append(unicodedata.normalize("NFKC", text[position:]))
    return "".join(pieces)


def normalize(text: str) -> str:
    """Canonical form of a comment: NFKC where it keeps meaning, simplified characters, no invisible characters,
    single spaces.

    Idempotent and total over ``str``: full-width letters and digits become ASCII, compatibility ideographs
    become their unified form, zero-width and control characters disappear, and any run of whitespace
    (including the ideographic space) becomes one ASCII space.
    """
    text = _nfkc_except_meaningful(_strip_invisible(text))
    text = _strip_invisible(text)  # NFKC can expose a format character that was part of a sequence
    return _WHITESPACE.sub(" ", to_simplified(text)).strip()


_converter_lock = threading.Lock()
_converter = None


def to_simplified(text: str) -> str:
    """Traditional characters as simplified ones (OpenCC t2s), so 「報銷流程」 and 「报销流程」 are one comment to every
    model; kept as written where the conversion would change the text's length (offsets must stay valid)."""
    global _converter
    if text.isascii():
        return text
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    converted = _converter.convert(text)
    return converted if len(converted) == len(text) else text


# --- word segmentation ---------------------------------------------------------------------------------


class Segment(NamedTuple):
    """One jieba word with its character offsets into the segmented text."""

    word: str
    start: int
    end: int


_jieba_lock = threading.Lock()
_jieba_tokenizer = None


def _tokenizer():  # type: ignore[no-untyped-def]
    """Build jieba's dictionary once per process; later calls only read it, which is safe across threads."""
    global _jieba_tokenizer
    if _jieba_tokenizer is None:
        with _jieba_lock:
            if _jieba_tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _jieba_tokenizer = tokenizer
    return _jieba_tokenizer


def segment(text: str) -> list[Segment]:
    """Split text into jieba words with offsets; whitespace-only pieces are dropped."""
    if not text:
        return []
    return [
        Segment(word, start, end) for word, start, end in _tokenizer().tokenize(text, HMM=True) if not word.isspace()
    ]


def words(text: str) -> list[str]:
    """The words of ``segment`` without offsets, for bag-of-words features and report word counts."""
    return [piece.word for piece in segment(text)]


# --- redaction of personal data ------------------------------------------------------------------------

PLACEHOLDERS: dict[str, str] = {
    "id_card": "[身份证]",
    "email": "[邮箱]",
    "mobile": "[手机号]",
    "employee_id": "[工号]",
    "mention": "[提及]",
    "landline": "[座机]",
    "wechat": "[微信号]",
}

_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CARD_CHECK = "10X98765432"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Mainland mobile: 1[3-9] and 9 more digits, optionally +86, with the spaces or dashes people type (3-4-4).
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?![0-9])")
# Mainland landline: area code 0 + 2-3 digits (or in brackets), a local number of 7-8 digits not starting 0/1, an
# optional extension (转 123). Dates (2024-12-31) and amounts do not start with 0 and an area code.
_LANDLINE = re.compile(
    r"(?<![0-9])(?:[(（]0\d{2,3}[)）]|0\d{2,3})[\s-]?[2-9]\d{6,7}(?:\s*(?:转|ext\.?|-)\s*\d{1,5})?(?![0-9])",
    re.IGNORECASE,
)
# A WeChat ID written after its label (微信/微信号/vx/wx/WeChat): 6-20 letters, digits, - or _, starting with a letter.
_WECHAT = re.compile(
    r"(?<![A-Za-z])(?:微信号?|(?:vx|wx|wechat|weixin)(?![A-Za-z]))\s*(?:号|id)?\s*(?:是|为)?\s*[:：]?\s*([A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])",
    re.IGNORECASE,
)
# An @mention: a Latin handle, or a Chinese name/title. An '@' inside a word (e-mail leftovers) is not one.
_MENTION = re.compile(r"(?<![A-Za-z0-9._%+-])@(?:([A-Za-z0-9_][A-Za-z0-9_.-]*)|([\u3400-\u9fff]{1,20}))")
# Chinese has no space after a mention ("@李主任看下"): the mention is the first word plus any title after it.
_MENTION_TITLES = frozenset(
    [
        "总",
        "总监",
        "经理",
        "主任",
        "主管",
        "督导",
        "老师",
        "老板",
        "科",
        "处",
        "部",
        "组",
        "室",
        "科长",
        "处长",
        "部长",
        "厂长",
        "店长",
        "院长",
        "校长",
        "组长",
        "班长",
        "医生",
        "护士长",
        "同学",
        "同事",
        "哥",
        "姐",
        "工",
        "助理",
        "秘书",
        "老大",
        "大佬",
        "领导",
    ]
)
# Default employee-ID rule: an ID written after a label such as 工号 / 员工编号 / employee ID.
DEFAULT_EMPLOYEE_ID_PATTERN = (
    r"(?:工号|员工号|员工编号|职工号|employee\s*id|emp\s*id|staff\s*id)\s*(?:是|为|is)?\s*[:：#]?\s*"
    r"([A-Za-z]{0,3}\d{4,10})(?![0-9])"
)


def is_valid_id_card(number: str) -> bool:
    """GB 11643 checksum of an 18-digit resident ID number (the last character may be X)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_CARD_WEIGHTS, strict=True))
    return _ID_CARD_CHECK[total % 11] == number[17].upper()


@dataclass(frozen=True)
class Redactor:
    """Masks personal data with typed placeholders. ``employee_id_pattern`` may hold one group: then only the
    group is masked (the label before it stays readable); without a group the whole match is masked."""

    employee_id_pattern: str = DEFAULT_EMPLOYEE_ID_PATTERN

    def __post_init__(self) -> None:
        try:
            compiled = re.compile(self.employee_id_pattern, re.IGNORECASE)
        except re.error as error:
            raise ValueError(f"employee ID pattern is not a valid regular expression: {error}") from None
        if compiled.groups > 1:
            raise ValueError("employee ID pattern may contain at most one capturing group")
        object.__setattr__(self, "_employee_id", compiled)

    def __call__(self, text: str) -> str:
        text = _ID_CARD.sub(lambda m: PLACEHOLDERS["id_card"] if is_valid_id_card(m.group()) else m.group(), text)
        text = _EMAIL.sub(PLACEHOLDERS["email"], text)
        text = _MOBILE.sub(PLACEHOLDERS["mobile"], text)
        text = _LANDLINE.sub(PLACEHOLDERS["landline"], text)
        text = _WECHAT.sub(lambda m: m.group()[: m.start(1) - m.start()] + PLACEHOLDERS["wechat"], text)
        text = self._employee_id.sub(self._mask_employee_id, text)  # type: ignore[attr-defined]
        return _MENTION.sub(_mask_mention, text)

    @staticmethod
    def _mask_employee_id(match: re.Match[str]) -> str:
        if match.re.groups == 0:
            return PLACEHOLDERS["employee_id"]
        whole, start = match.group(), match.start()
        return whole[: match.start(1) - start] + PLACEHOLDERS["employee_id"] + whole[match.end(1) - start :]


def _mask_mention(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return PLACEHOLDERS["mention"]
    run = match.group(2)
    pieces = words(run)
    taken = len(pieces[0])
    for piece in pieces[1:]:
        if piece not in _MENTION_TITLES:
            break
        taken += len(piece)
    return PLACEHOLDERS["mention"] + run[taken:]


_default_redactor = Redactor()


def redact(text: str, redactor: Redactor | None = None) -> str:
    """Mask mobile numbers, checksum-valid ID-card numbers, e-mails, @mentions and employee IDs."""
    return (redactor or _default_redactor)(text)
