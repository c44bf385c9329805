"""The screenshot analysis of ``picture.py``, on pictures drawn here: right ones and the broken ones it must catch."""

import numpy as np

from . import picture


def page_with(image, scale=2, top=40, left=60, colour_bar=True):
    """A white 'page' with the pattern drawn as the gray map does (scale 0-1000), and a colour bar right of it."""
    levels = np.round(np.asarray(image, float) / 1000 * 255)
    drawn = np.kron(levels, np.ones((scale, scale)))
    page = np.full((top + drawn.shape[0] + 60, left + drawn.shape[1] + 200), 255.0)
    page[top : top + drawn.shape[0], left : left + drawn.shape[1]] = drawn
    if colour_bar:
        height = drawn.shape[0]
        gradient = np.linspace(255, 0, height - 20)[:, None]
        page[top + 10 : top + height - 10, left + drawn.shape[1] + 30 : left + drawn.shape[1] + 50] = gradient
    return np.repeat(page[..., None], 3, axis=-1).astype(np.uint8)


def test_a_right_drawing_is_found_where_the_pattern_says():
    rgb = page_with(picture.test_pattern())
    box = picture.find_image(rgb)
    assert (box.top, box.bottom, box.left, box.right) == (40, 40 + 512, 60, 60 + 512)
    found = picture.locate_pattern(rgb, box)
    assert found.scale == (2.0, 2.0)
    assert found.bar_columns == picture.BAR_COLUMNS and found.bar_rows == picture.BAR_ROWS
    assert found.marker_rows == (0, 16) and found.marker_columns == (0, 32)
    assert picture.find_colour_bar(rgb, box) == (60 + 512 + 30, 60 + 512 + 50)


def test_the_drawings_of_issue_13_are_caught():
    pattern = picture.test_pattern()
    # The left half, stretched across the frame: no column bar, the marker twice as wide.
    left_half = np.repeat(pattern[:, :128], 2, axis=1)
    rgb = page_with(left_half, colour_bar=False)
    found = picture.locate_pattern(rgb, picture.find_image(rgb))
    assert found.bar_columns is None and found.marker_columns == (0, 64)
    assert picture.find_colour_bar(rgb, picture.find_image(rgb)) is None
    # Upside down: the row bar and the marker at the bottom.
    rgb = page_with(np.flipud(pattern))
    found = picture.locate_pattern(rgb, picture.find_image(rgb))
    assert found.bar_rows == (256 - 26, 256 - 20) and found.marker_rows == (240, 256)
    # Transposed: the marker taller than wide, the bars swapped.
    rgb = page_with(pattern.T)
    found = picture.locate_pattern(rgb, picture.find_image(rgb))
    assert found.marker_rows == (0, 32) and found.marker_columns == (0, 16)
    assert found.bar_columns is None  # the white bar now runs across: rows 200-205 (under the black one's columns)


def test_no_pattern_no_image():
    assert picture.find_image(np.full((300, 400, 3), 255, np.uint8)) is None
