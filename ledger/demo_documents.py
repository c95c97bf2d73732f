"""Documents for the demo fund: a signing key of its own, and signatures drawn by nobody.

The demo key is made on first use beside the demo database, with a password that is printed
in this file: it proves nothing and must never sign a real contract.
"""

from __future__ import annotations

import io
import math
import os

from PIL import Image, ImageDraw
from pydantic import SecretStr

from ledger.config import Settings
from ledger.documents.signing import create_fund_key

DEMO_KEY_PASSWORD = "demo-signing-key-password"  # noqa: S105 (a demo key, said so everywhere)
DEMO_KEY_NAME = "demo-fund-signing-key.p12"


def demo_settings(settings: Settings) -> Settings:
    """``settings`` with a signing key: the configured one, else the demo key (made if new)."""
    if settings.signing_key_file is not None:
        return settings
    path = settings.documents_path().parent / DEMO_KEY_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = create_fund_key(f"{settings.fund_name} (DEMO)", DEMO_KEY_PASSWORD)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return settings.model_copy(
        update={"signing_key_file": path, "signing_key_password": SecretStr(DEMO_KEY_PASSWORD)}
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
