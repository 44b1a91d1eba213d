"""Images for ``log_image``: numpy arrays or PIL images to PNG bytes, with MLflow's file names.

Pillow does the encoding (it comes with matplotlib; otherwise ``pip install pillow``).
A static image goes to the given ``artifact_file``. An image logged with ``key`` and
``step`` is stored as MLflow stores it, so MLflow's UI shows it on its image charts:
``images/<key>+step+<step>+timestamp+<ms>+<uuid>.png`` and a copy scaled to fit 256
pixels, ``...+compressed.webp``; the run gets the tag ``mlflow.loggedImages``.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from typing import Any

from runstream.errors import ConfigError, ValidationError

LOGGED_IMAGES_TAG = "mlflow.loggedImages"
COMPRESSED_IMAGE_SIZE = 256
_KEY = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise ConfigError(
            "log_image needs Pillow to encode images, which is not installed: pip install pillow"
        ) from exc
    return Image


def to_pil(image: Any) -> Any:
    """A PIL image from a numpy array (HxW, HxWx3 or HxWx4; ints 0-255 or floats 0-1).

    Raises:
        ValidationError: an unsupported object, shape or value range.
        ConfigError: Pillow is not installed.
    """
    import numpy as np

    pil = _pil()
    if isinstance(image, pil.Image):
        return image
    if not isinstance(image, np.ndarray):
        raise ValidationError(
            f"Unsupported image object type: {type(image)}. `image` must be one of "
            "numpy.ndarray and PIL.Image.Image."
        )
    array = image
    if np.issubdtype(array.dtype, np.integer):
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValidationError("Integer pixel values out of acceptable range [0, 255].")
    else:
        array = array.astype(np.float64)
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 1.0)
        if low < 0 or high > 1:
            array = (array - low) / ((high - low) or 1.0)
        array = array * 255
    array = array.astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValidationError(f"Unsupported image shape {image.shape}: use HxW, HxWx3 or HxWx4")
    return pil.fromarray(array)


def encode(image: Any, fmt: str = "PNG") -> bytes:
    """The image's bytes in ``fmt``."""
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def compressed(image: Any) -> Any:
    """A copy scaled to fit a 256-pixel square, keeping the aspect ratio (MLflow's rule)."""
    width, height = image.size
    if width > height:
        size = (COMPRESSED_IMAGE_SIZE, int(height * COMPRESSED_IMAGE_SIZE / width))
    else:
        size = (int(width * COMPRESSED_IMAGE_SIZE / height), COMPRESSED_IMAGE_SIZE)
    return image.resize((max(size[0], 1), max(size[1], 1)))


def image_files(
    image: Any,
    artifact_file: str | None,
    key: str | None,
    step: int | None,
    timestamp: int | None,
) -> list[tuple[str, bytes]]:
    """The artifact files of one ``log_image`` call: ``(path, bytes)``.

    Raises:
        ValidationError: both or neither of ``artifact_file`` and ``key``; a bad key.
    """
    if artifact_file is not None and any(a is not None for a in (key, step, timestamp)):
        raise ValidationError(
            "The `artifact_file` parameter cannot be used in conjunction with `key`, "
            "`step`, or `timestamp` parameters."
        )
    if artifact_file is None and key is None:
        raise ValidationError("Specify exactly one of `artifact_file` or `key`.")
    picture = to_pil(image)
    if artifact_file is not None:
        fmt = artifact_file.rsplit(".", 1)[-1].upper() if "." in artifact_file else "PNG"
        return [(artifact_file, encode(picture, "JPEG" if fmt == "JPG" else fmt))]
    assert key is not None
    if not _KEY.match(key):
        raise ValidationError(
            "The `key` parameter may only contain alphanumerics, underscores (_), dashes (-), "
            f"periods (.), spaces ( ), and slashes (/); not {key!r}"
        )
    ms = timestamp or time.time_ns() // 1_000_000
    base = f"images/{key.replace('/', '~')}+step+{step or 0}+timestamp+{ms}+{uuid.uuid4()}"
    return [
        (f"{base}.png", encode(picture)),
        (f"{base}+compressed.webp", encode(compressed(picture), "WEBP")),
    ]


__all__ = ["COMPRESSED_IMAGE_SIZE", "LOGGED_IMAGES_TAG", "compressed", "image_files", "to_pil"]
