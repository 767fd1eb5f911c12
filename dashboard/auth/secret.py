"""The key that signs session cookies: from GCC_SECRET_KEY, or (demo mode only) a random key made
once per instance folder, so `python app.py demo` and `python app.py` work with nothing to set.
Production mode without GCC_SECRET_KEY never gets here: data.settings refuses to load."""

from __future__ import annotations

import os
import secrets

from data.settings import Settings

FILENAME = "secret_key"


def secret_key(settings: Settings) -> str:
    if settings.gcc_secret_key:
        return settings.gcc_secret_key
    if settings.gcc_production:  # data.settings refuses this; kept as a second lock on the door
        raise RuntimeError("GCC_SECRET_KEY must be set in production mode")
    path = settings.gcc_instance_dir / FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once agree on one key (the loser reads the winner's).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret; delete it to have a new one made")
    return key
