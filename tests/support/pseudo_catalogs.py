"""Stand-in catalogs for languages whose real catalog is not written yet, to look at a script's
layout (right-to-left, line breaking, fonts) before the translators' work arrives.

Each English message becomes words of the language's script, the same number of words (at
least one), with the message's placeholders kept in place: the wording is nonsense, the letters,
the joining, the direction and the line lengths are those of the script. Catalogs that exist
are copied as they are: a real catalog always wins over a stand-in.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger.documents import catalogs, i18n
from ledger.documents.catalogs import CatalogFile, Entry, save, source_hash

#: A few common words per script (the fund's vocabulary: loan, fund, contract, rent...).
WORDS: dict[str, str] = {
    "ar": "قرض الصندوق المستأجر الضمان الإيجار شهري المبلغ التاريخ الدفع العقد بدون فائدة",
    "fa": "وام صندوق اجاره پرداخت قرارداد ماهانه بدون بهره گیرنده ژوئن چک کرایه\u200cها",
    "th": "เงินกู้ กองทุน สัญญา ค่าเช่า ชำระ รายเดือน ไม่มี ดอกเบี้ย ผู้กู้ วันที่ จำนวน เงินประกัน",
    "zh": "贷款 基金 合同 租金 押金 每月 付款 日期 金额 无息 借款人 还款",
    "ti": "ልቓሕ ፈንድ ውዕል ክራይ ዋሕስ ወርሓዊ ክፍሊት ዕለት መጠን ብዘይ ወለድ ተለቃሒ",
    "ru": "заём фонд договор аренда залог ежемесячно платёж дата сумма без процентов заёмщик",
    "uk": "позика фонд договір оренда застава щомісяця платіж дата сума без відсотків",
    "bg": "заем фонд договор наем депозит месечно плащане дата сума без лихва заемател",
    "vi": "khoản vay quỹ hợp đồng tiền thuê đặt cọc hằng tháng không",
    "es": "préstamo fondo contrato alquiler fianza mensual pago fecha importe sin interés año",
    "pt": "empréstimo fundo contrato aluguel caução mensal pagamento data montante sem juros ação",
    "ro": "împrumut fond contract chirie garanție lunară plată dată sumă fără dobândă întârziere",
    "hu": "kölcsön alap szerződés bérleti kaució havi fizetés dátum összeg nélkül kamat hátralék",
    "sq": "hua fond kontratë qira garanci mujore pagesë datë shumë pa interes çelës",
    "tr": "borç fon sözleşme kira depozito aylık ödeme tarih tutar faizsiz gecikme İstanbul",
}
#: Scripts written without spaces between words.
NO_SPACES = {"th", "zh"}
_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[a-zA-Z%]")


def pseudo(english: str, language: str) -> str:
    """``english`` in ``language``'s script: as many words, the placeholders kept."""
    words = WORDS[language].split()
    glue = "" if language in NO_SPACES else " "
    out: list[str] = []
    position = 0
    for part in re.split(f"({_PLACEHOLDER.pattern})", english):
        if _PLACEHOLDER.fullmatch(part):
            out.append(f" {part} ")
            continue
        count = len(re.findall(r"\w+", part))
        chunk = [words[(position + i) % len(words)] for i in range(count)]
        position += count
        if chunk:
            out.append(glue.join(chunk))
    text = re.sub(r"\s+", " ", "".join(out)).strip()
    return text or words[0]


def write_pseudo_catalog(root: Path, language: str, domain: str = i18n.DOMAIN) -> Path:
    english = catalogs.load(i18n.FALLBACK, domain)
    path = root / language / "LC_MESSAGES" / f"{domain}.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = {
        msgid: Entry(msgid, pseudo(e.msgstr, language), source=source_hash(e.msgstr))
        for msgid, e in english.entries.items()
    }
    header = {
        "Language": language,
        "Content-Type": "text/plain; charset=utf-8",
        "X-Review-State": "drafted",
        "X-Reviewed-By": "",
    }
    save(CatalogFile(path, language, ["# A stand-in catalog for tests."], header, entries))
    return path


@contextmanager
def locale_with(root: Path, languages: Iterable[str]) -> Iterator[list[str]]:
    """A copy of the shipped catalogs in ``root``, with a stand-in for each of ``languages``
    that has none, used by the documents while the context lasts. Yields the stand-ins made."""
    real = i18n.locale_dir()
    shutil.copytree(real, root, dirs_exist_ok=True)
    made = []
    for language in languages:
        if not (root / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").exists():
            write_pseudo_catalog(root, language)
            made.append(language)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(i18n, "locale_dir", lambda: root)
        mp.setattr(catalogs, "locale_dir", lambda: root)
        i18n.domain_catalog.cache_clear()
        try:
            yield made
        finally:
            i18n.domain_catalog.cache_clear()
