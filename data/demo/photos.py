"""Site photos for the demo's handling feedback (处理反馈 needs a photo), drawn once with Pillow
into the instance folder so the demo shows real images without shipping binaries."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

from data.settings import Settings

COUNT = 6


def photo_root(settings: Settings) -> Path:
    return settings.gcc_instance_dir / "photos"


def demo_photos(settings: Settings) -> list[str]:
    """Photo references (paths relative to the photo root), drawing the files if missing."""
    root = photo_root(settings) / "demo"
    refs = [f"demo/site-{i + 1}.jpg" for i in range(COUNT)]
    if all((photo_root(settings) / ref).exists() for ref in refs):
        return refs
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    for i, ref in enumerate(refs):
        img = Image.new("RGB", (640, 480), (120 + 10 * i, 140, 150))
        draw = ImageDraw.Draw(img)
        for y in range(300, 480, 4):  # a road surface
            draw.line([(0, y), (640, y)], fill=(90 + rng.randint(0, 20), 90, 95))
        for _ in range(8):  # buildings
            x = rng.randint(0, 600)
            h = rng.randint(80, 260)
            draw.rectangle([x, 300 - h, x + rng.randint(40, 110), 300], fill=(200, 190 - 5 * i, 170))
        draw.ellipse([250, 330, 390, 400], outline=(250, 220, 60), width=6)  # the fixed spot
        img.save(photo_root(settings) / ref, "JPEG", quality=80)
    return refs
