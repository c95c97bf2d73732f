"""The beneficiaries' catalogs kept honest: complete, current with the English, reviewed or not.

The English catalog (``en``) is the reference. Every other catalog of the documents' wording
records, beside each message, a short hash of the English text it translates (an extracted
comment ``#. en: 0123456789``): when the English changes, the translation is *stale* until a
translator updates it and stamps it again. Each catalog's header says whether a translator has
reviewed it (``X-Review-State: drafted`` or ``reviewed``, with ``X-Reviewed-By``), which the
admin page shows and the documents do not hide.

``python -m ledger.documents.catalogs`` (``make catalogs``) lists every catalog's state;
``check`` fails on anything missing, empty, fuzzy, stale, extra or with other placeholders;
``new LANG`` starts a catalog from the English; ``sync LANG`` adds the messages it lacks and
marks stale ones fuzzy; ``stamp LANG`` records, after a translator's update, that each
translation matches the current English.

Babel reads the messages; this module writes the files itself, so that the header keeps its
``X-`` fields (Babel's writer drops fields it does not know).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

from ledger.documents.i18n import (
    DOMAIN,
    FALLBACK,
    REMINDERS_DOMAIN,
    REPORT_DOMAIN,
    locale_dir,
    placeholders_of,
)

REVIEW_STATES = ("drafted", "reviewed")
_HASH_COMMENT = re.compile(r"^en: ([0-9a-f]{10})$")
_HEADER_FIELD = re.compile(r"^([A-Za-z-]+):\s*(.*)$")


def source_hash(english: str) -> str:
    """The short hash of an English message that a translation records."""
    return hashlib.sha256(english.encode("utf-8")).hexdigest()[:10]


@dataclass(slots=True)
class Entry:
    msgid: str
    msgstr: str
    fuzzy: bool = False
    source: str | None = None  # the hash of the English it translates
    comments: list[str] = field(default_factory=list)  # translator comments (``# ...``)


@dataclass(slots=True)
class CatalogFile:
    """One ``.po`` file: its header comment lines, header fields and entries, in order."""

    path: Path
    language: str
    top_comments: list[str]
    header: dict[str, str]
    entries: dict[str, Entry]

    @property
    def review_state(self) -> str:
        return self.header.get("X-Review-State", "")

    @property
    def reviewed_by(self) -> str:
        return self.header.get("X-Reviewed-By", "")


def catalog_path(language: str, domain: str = DOMAIN) -> Path:
    return locale_dir() / language / "LC_MESSAGES" / f"{domain}.po"


def load(language: str, domain: str = DOMAIN) -> CatalogFile:
    path = catalog_path(language, domain)
    raw = path.read_bytes()
    with path.open("rb") as f:
        po = read_po(f, locale=None, domain=domain)
    top = []
    for line in raw.decode("utf-8").splitlines():
        if not line.startswith("#"):
            break
        top.append(line)
    header: dict[str, str] = {}
    header_text = _header_text(raw.decode("utf-8"))
    for line in header_text.split("\n"):
        match = _HEADER_FIELD.match(line)
        if match:
            header[match.group(1)] = match.group(2).strip()
    entries: dict[str, Entry] = {}
    for m in po:
        if not m.id or not isinstance(m.id, str):
            continue
        source = None
        for comment in m.auto_comments:
            found = _HASH_COMMENT.match(comment.strip())
            if found:
                source = found.group(1)
        entries[m.id] = Entry(
            msgid=m.id,
            msgstr=str(m.string or ""),
            fuzzy=m.fuzzy,
            source=source,
            comments=list(m.user_comments),
        )
    return CatalogFile(path, language, top, header, entries)


def _header_text(text: str) -> str:
    """The header entry's msgstr (``msgid ""`` first), unescaped."""
    match = re.search(r'^msgid ""\nmsgstr ((?:".*"\n?)+)', text, re.M)
    if not match:
        return ""
    parts = re.findall(r'"(.*)"', match.group(1))
    return _unescape("".join(parts))


def _unescape(value: str) -> str:
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), value)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def save(cat: CatalogFile) -> None:
    lines = [*cat.top_comments, 'msgid ""', 'msgstr ""']
    lines += [f'"{_escape(f"{k}: {v}")}\\n"' for k, v in cat.header.items()]
    for entry in cat.entries.values():
        lines.append("")
        lines += [f"# {c}" if c else "#" for c in entry.comments]
        if entry.source is not None:
            lines.append(f"#. en: {entry.source}")
        if entry.fuzzy:
            lines.append("#, fuzzy")
        lines.append(f'msgid "{_escape(entry.msgid)}"')
        lines.append(f'msgstr "{_escape(entry.msgstr)}"')
    cat.path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- what is wrong with a catalog ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    language: str
    msgid: str
    what: str  # missing, empty, fuzzy, stale, unstamped, extra, placeholders, header

    def __str__(self) -> str:
        return f"{self.language}: {self.msgid}: {self.what}"


def problems(language: str, domain: str = DOMAIN) -> Iterator[Problem]:
    english = load(FALLBACK, domain).entries
    cat = load(language, domain)
    if cat.review_state not in REVIEW_STATES:
        yield Problem(language, "(header)", f"X-Review-State must be one of {REVIEW_STATES}")
    if cat.review_state == "reviewed" and not cat.reviewed_by:
        yield Problem(language, "(header)", "a reviewed catalog names who reviewed it")
    for msgid, source in english.items():
        own = cat.entries.get(msgid)
        if own is None:
            yield Problem(language, msgid, "missing")
        elif not own.msgstr.strip():
            yield Problem(language, msgid, "empty")
        elif own.fuzzy:
            yield Problem(language, msgid, "fuzzy (the English changed: translate it again)")
        elif own.source is None:
            yield Problem(language, msgid, "unstamped (no hash of the English it translates)")
        elif own.source != source_hash(source.msgstr):
            yield Problem(language, msgid, "stale (the English changed since)")
        elif placeholders_of(own.msgstr) != placeholders_of(source.msgstr):
            yield Problem(language, msgid, "placeholders differ from the English")
    for msgid in cat.entries.keys() - english.keys():
        yield Problem(language, msgid, "extra (no such English message)")


def languages(domain: str = DOMAIN) -> list[str]:
    return sorted(
        p.parent.parent.name
        for p in locale_dir().glob(f"*/LC_MESSAGES/{domain}.po")
        if p.parent.parent.name != FALLBACK
    )


# -- the commands -----------------------------------------------------------------------------


#: What each domain's catalogs hold, for the first line of a new one.
DESCRIBED = {
    DOMAIN: "documents for beneficiaries",
    REMINDERS_DOMAIN: "payment reminders (the e-mails and the letters)",
    REPORT_DOMAIN: "monthly fund report",
}


def new(language: str, domain: str = DOMAIN) -> Path:
    """A catalog for ``language`` with every English message to translate (empty)."""
    path = catalog_path(language, domain)
    if path.exists():
        raise SystemExit(f"{path} exists already; use `sync {language}`")
    try:
        name = Locale.parse(language).get_display_name("en") or language
    except (UnknownLocaleError, ValueError):
        name = language
    english = load(FALLBACK, domain)
    path.parent.mkdir(parents=True, exist_ok=True)
    cat = CatalogFile(
        path,
        language,
        [f"# {name} wording of fundledger's {DESCRIBED.get(domain, domain)}."],
        {
            "Project-Id-Version": "fundledger 1",
            "Language": language,
            "Language-Team": name,
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Transfer-Encoding": "8bit",
            "X-Review-State": "drafted",
            "X-Reviewed-By": "",
        },
        {k: Entry(k, "") for k in english.entries},
    )
    save(cat)
    return path


def sync(language: str, domain: str = DOMAIN) -> CatalogFile:
    """Add the English messages the catalog lacks, drop those English no longer has, and
    mark fuzzy every translation whose English changed since it was stamped."""
    english = load(FALLBACK, domain).entries
    cat = load(language, domain)
    entries: dict[str, Entry] = {}
    for msgid, source in english.items():
        own = cat.entries.get(msgid) or Entry(msgid, "")
        if own.source is not None and own.source != source_hash(source.msgstr):
            own.fuzzy = True
        entries[msgid] = own
    cat.entries = entries
    save(cat)
    return cat


def stamp(language: str, domain: str = DOMAIN, msgids: Sequence[str] = ()) -> int:
    """Record that each translated message (or only ``msgids``) matches the current English:
    its hash, and no fuzzy mark. A catalog whose header has no review state yet is a draft
    (``X-Review-State: drafted``, ``X-Reviewed-By:`` empty); a state it has is kept. Returns
    how many were stamped."""
    english = load(FALLBACK, domain).entries
    cat = load(language, domain)
    cat.header.setdefault("X-Review-State", "drafted")
    cat.header.setdefault("X-Reviewed-By", "")
    stamped = 0
    for msgid, own in cat.entries.items():
        if msgids and msgid not in msgids:
            continue
        if msgid in english and own.msgstr.strip():
            own.source = source_hash(english[msgid].msgstr)
            own.fuzzy = False
            stamped += 1
    save(cat)
    return stamped


@dataclass(frozen=True, slots=True)
class LanguageState:
    """What the admin page shows of one catalog: who checked it and how complete it is."""

    language: str
    review_state: str  # drafted, reviewed, or "" when the header does not say
    reviewed_by: str
    messages: int  # the English catalog's
    current: int  # translated and current with the English

    @property
    def complete(self) -> bool:
        return self.current == self.messages

    @property
    def reviewed(self) -> bool:
        return self.review_state == "reviewed"


def states(domain: str = DOMAIN) -> tuple[LanguageState, ...]:
    """Each catalog's state but English's (the reference), read again only when a catalog file
    changed."""
    files = sorted(locale_dir().glob(f"*/LC_MESSAGES/{domain}.po"))
    return _states(domain, tuple((str(p), p.stat().st_mtime_ns) for p in files))


@functools.lru_cache(maxsize=4)
def _states(domain: str, files: tuple[tuple[str, int], ...]) -> tuple[LanguageState, ...]:
    del files  # the key only: a changed file reads them all again
    total = len(load(FALLBACK, domain).entries)
    found = []
    for language in languages(domain):
        cat = load(language, domain)
        bad = {p.msgid for p in problems(language, domain) if p.msgid != "(header)"}
        found.append(
            LanguageState(language, cat.review_state, cat.reviewed_by, total, total - len(bad))
        )
    return tuple(found)


def status(domain: str = DOMAIN) -> list[tuple[str, str, int, int, int]]:
    """(language, review state, messages, translated and current, problems) per catalog."""
    total = len(load(FALLBACK, domain).entries)
    rows = []
    for language in languages(domain):
        found = list(problems(language, domain))
        bad = {p.msgid for p in found if p.msgid != "(header)"}
        rows.append(
            (language, load(language, domain).review_state, total, total - len(bad), len(found))
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.documents.catalogs", description=__doc__
    )
    parser.add_argument("--domain", default=DOMAIN)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="each catalog's review state and completeness")
    sub.add_parser("check", help="fail on any missing, stale or broken message")
    for name in ("new", "sync", "stamp"):
        cmd = sub.add_parser(name)
        cmd.add_argument("languages", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "status":
        for language, state, total, good, count in status(args.domain):
            print(f"{language:4} {state or '?':9} {good:4}/{total} current, {count} problem(s)")
        return 0
    if args.command == "check":
        found = [p for language in languages(args.domain) for p in problems(language, args.domain)]
        for p in found:
            print(p)
        return 1 if found else 0
    for language in args.languages:
        if args.command == "new":
            print(new(language, args.domain))
        elif args.command == "sync":
            sync(language, args.domain)
        else:
            print(f"{language}: {stamp(language, args.domain)} stamped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
