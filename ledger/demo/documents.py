"""Documents for the demo fund: a signing key of its own, and signatures drawn by nobody.

The demo key is made on first use beside the demo database, with a random password written
next to it (``demo-fund-signing-key.password``, readable by its owner only): it proves nothing
and must never sign a real contract.
"""

from __future__ import annotations

import io
import math
import os
import secrets
from pathlib import Path

from PIL import Image, ImageDraw
from pydantic import SecretStr

from ledger.config import Settings
from ledger.documents.signing import create_fund_key
from ledger.domain.errors import Conflict

DEMO_KEY_NAME = "demo-fund-signing-key.p12"
DEMO_KEY_PASSWORD_NAME = "demo-fund-signing-key.password"  # noqa: S105 (a file name)


def _write_private(path: Path, data: bytes) -> None:
    """A new file only its owner can read; an existing one is never replaced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_password(path: Path, key: Path) -> str:
    """The demo key's password, read from ``path``; made (random) with a key not made yet."""
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    if key.exists():
        raise Conflict(
            f"the demo signing key {key} has no password file {path.name} beside it (an older "
            "demo): delete the demo folder and build the demo again"
        )
    password = secrets.token_urlsafe(24)
    _write_private(path, f"{password}\n".encode("ascii"))
    return password


#: The demo fund's town (Brussels, the settings' default) as its contracts print it in each
#: language; a fund in another town names its own (FUNDLEDGER_FUND_CITY_NAMES).
DEMO_CITY_NAMES = "nl=Brussel; de=Brüssel; en=Brussels"


def demo_settings(settings: Settings) -> Settings:
    """``settings`` with a signing key: the configured one, else the demo key (made if new);
    and the demo town's names in other languages, unless the settings name a town of their
    own."""
    if settings.fund_city == "Bruxelles" and not settings.fund_city_names:
        settings = settings.model_copy(update={"fund_city_names": DEMO_CITY_NAMES})
    if settings.signing_key_file is not None:
        return settings
    folder = settings.documents_path().parent
    path = folder / DEMO_KEY_NAME
    folder.mkdir(parents=True, exist_ok=True)
    password = _key_password(folder / DEMO_KEY_PASSWORD_NAME, path)
    if not path.exists():
        _write_private(path, create_fund_key(f"{settings.fund_name} (DEMO)", password))
    return settings.model_copy(
        update={"signing_key_file": path, "signing_key_password": SecretStr(password)}
    )


def demo_signature(seed: int) -> bytes:
    """A squiggle as a PNG, different for each ``seed``: what a finger draws on a tablet."""
    width, height = 360, 120
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    points = [
        (
            20 + x * 8,
            height / 2 + 35 * math.sin(x / (2.5 + seed % 3) + seed) * math.cos(x / 11),
        )
        for x in range(40)
    ]
    ImageDraw.Draw(img).line(points, fill=(20, 30, 110, 255), width=4, joint="curve")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()
