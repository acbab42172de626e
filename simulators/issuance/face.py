"""A generated face portrait for DG2: JPEG or JPEG 2000, deterministic from a seed.

Not a real person: a drawn head and shoulders in passport framing (ICAO 9303-3 photo
guidance: plain light background, frontal, face about 70-80 % of the height).
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 240, 320
SKIN = ((241, 204, 170), (224, 178, 140), (198, 150, 110), (170, 120, 85))
HAIR = ((25, 20, 18), (45, 35, 30), (70, 55, 45), (140, 140, 140))
SHIRT = ((250, 250, 250), (40, 60, 110), (90, 90, 90), (160, 30, 40))


def draw_face(seed: int) -> Image.Image:
    """A portrait of ``seed``: the same seed draws the same face."""
    rng = random.Random(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT), (236, 240, 245))
    draw = ImageDraw.Draw(image)
    skin, hair, shirt = rng.choice(SKIN), rng.choice(HAIR), rng.choice(SHIRT)
    cx = WIDTH // 2 + rng.randint(-4, 4)
    draw.ellipse((cx - 110, 250, cx + 110, 420), fill=shirt)
    draw.rectangle((cx - 22, 215, cx + 22, 262), fill=skin)
    head_w, head_h = rng.randint(70, 82), rng.randint(92, 104)
    top = 60
    draw.ellipse((cx - head_w - 6, top - 14, cx + head_w + 6, top + 2 * head_h - 70), fill=hair)
    draw.ellipse((cx - head_w, top, cx + head_w, top + 2 * head_h), fill=skin)
    eye_y = top + head_h - 8
    for side in (-1, 1):
        ex = cx + side * rng.randint(26, 32)
        draw.ellipse((ex - 11, eye_y - 6, ex + 11, eye_y + 6), fill=(255, 255, 255))
        draw.ellipse((ex - 5, eye_y - 5, ex + 5, eye_y + 5), fill=(40, 30, 25))
        draw.line((ex - 14, eye_y - 16, ex + 12, eye_y - 18), fill=hair, width=4)
    draw.line((cx, eye_y + 8, cx - 6, eye_y + 40), fill=tuple(c - 30 for c in skin), width=3)
    mouth_y = eye_y + 62
    draw.arc((cx - 24, mouth_y - 12, cx + 24, mouth_y + 8), 20, 160, fill=(150, 60, 60), width=4)
    return image


def encode_face(image: Image.Image, jpeg2000: bool) -> bytes:
    """JPEG (quality 80) or JPEG 2000 (codestream, rate about 1:20) bytes of ``image``."""
    out = io.BytesIO()
    if jpeg2000:
        image.save(
            out,
            "JPEG2000",
            irreversible=True,
            quality_mode="rates",
            quality_layers=[20],
            no_jp2=True,
        )
    else:
        image.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()
