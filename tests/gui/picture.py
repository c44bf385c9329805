"""Looking at screenshots of the image viewer: where a known test pattern landed.

The pattern (:func:`test_pattern`) is drawn with the ``gray`` colour map and the colour
scale spanning its values, so each of its values has a known grey on screen. The
functions here find the plotted image in an RGB screenshot by its background grey, then
say where the pattern's bars and corner marker are, in array pixels, and whether a
colour bar is drawn beside it. They take plain numpy arrays, so they are tested on
drawn pictures too (``test_picture.py``), including the broken drawings they must catch.
"""

from types import SimpleNamespace

import numpy as np

#: The pattern: a mid-grey background, a white column bar, a black row bar, a light
#: corner marker twice as wide as tall (so a transposed or flipped image is told apart).
SHAPE = (256, 256)
BACKGROUND, BAR_COLUMNS_VALUE, BAR_ROWS_VALUE, MARKER_VALUE = 500, 1000, 0, 750
BAR_COLUMNS = (200, 206)  # columns 200-205, white
BAR_ROWS = (20, 26)  # rows 20-25, black
MARKER = (slice(0, 16), slice(0, 32))  # rows 0-15, columns 0-31: the top left corner

#: Grey levels (0-255) of the pattern's values under the gray colour map, scale 0-1000.
GREY = {value: value / 1000 * 255 for value in (BACKGROUND, BAR_COLUMNS_VALUE, BAR_ROWS_VALUE, MARKER_VALUE)}
TOLERANCE = 14  # grey levels: the colour map's 256 steps and any blending at edges


def test_pattern():
    """The 256 x 256 uint16 test pattern (row bar drawn over the column bar where they cross)."""
    image = np.full(SHAPE, BACKGROUND, np.uint16)
    image[:, slice(*BAR_COLUMNS)] = BAR_COLUMNS_VALUE
    image[slice(*BAR_ROWS), :] = BAR_ROWS_VALUE
    image[MARKER] = MARKER_VALUE
    return image


test_pattern.__test__ = False  # a helper, not a test for pytest to collect


def grey(rgb):
    """An RGB(A) screenshot as grey levels (float); also whether each pixel is neutral grey."""
    rgb = np.asarray(rgb)[..., :3].astype(float)
    return rgb.mean(axis=-1), np.ptp(rgb, axis=-1) <= 6


def _near(levels, neutral, value):
    return neutral & (np.abs(levels - GREY[value]) <= TOLERANCE)


def find_image(rgb):
    """The box on screen of the plotted pattern: rows and columns mostly of its background grey.

    Returns
    -------
    SimpleNamespace or None
        ``top, bottom, left, right`` (screen pixels, bottom and right exclusive), or
        None where no area of the background grey is found.
    """
    levels, neutral = grey(rgb)
    background = _near(levels, neutral, BACKGROUND)
    per_row, per_column = background.sum(axis=1), background.sum(axis=0)
    if per_row.max() < 50:
        return None
    # The bars and the marker cross the image; every other row and column of it is
    # mostly background, and nothing else on the page has long runs of this grey.
    rows = np.flatnonzero(per_row > 0.5 * per_row.max())
    columns = np.flatnonzero(per_column > 0.5 * per_column.max())
    return SimpleNamespace(top=int(rows[0]), bottom=int(rows[-1]) + 1, left=int(columns[0]), right=int(columns[-1]) + 1)


def _span(flags):
    """(first, last + 1) of the longest run of True in a 1-D array; None if there is none."""
    best, start = None, None
    for index, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if best is None or index - start > best[1] - best[0]:
                best = (start, index)
            start = None
    return best


def locate_pattern(rgb, box):
    """Where the pattern's features are inside ``box``, in array pixels (row, column units).

    Returns
    -------
    SimpleNamespace
        ``scale`` (screen pixels per array pixel across and down), ``bar_columns``
        (first, end) of the white column bar, ``bar_rows`` of the black row bar,
        ``marker_rows`` and ``marker_columns`` of the light corner marker; a feature
        not found is None.
    """
    levels, neutral = grey(rgb)
    levels, neutral = levels[box.top : box.bottom, box.left : box.right], neutral[box.top : box.bottom, box.left : box.right]
    height, width = levels.shape
    across, down = width / SHAPE[1], height / SHAPE[0]

    def to_array(span, per_pixel):
        return None if span is None else (span[0] / per_pixel, span[1] / per_pixel)

    white = _near(levels, neutral, BAR_COLUMNS_VALUE)
    black = _near(levels, neutral, BAR_ROWS_VALUE)
    marker = _near(levels, neutral, MARKER_VALUE)
    marker_rows = _span(marker.sum(axis=1) > 0.5 * marker.sum(axis=1).max()) if marker.any() else None
    marker_columns = _span(marker.sum(axis=0) > 0.5 * marker.sum(axis=0).max()) if marker.any() else None
    return SimpleNamespace(
        scale=(across, down),
        bar_columns=to_array(_span(white.mean(axis=0) > 0.9), across),
        bar_rows=to_array(_span(black.mean(axis=1) > 0.9), down),
        marker_rows=to_array(marker_rows, down),
        marker_columns=to_array(marker_columns, across),
    )


def find_colour_bar(rgb, box, search=200):
    """Columns right of ``box`` holding a white-to-black gradient (the gray map's colour bar).

    A column counts when, along at least 80 % of the image's height, its greys fall
    step by step (never rising) by more than 200 levels. Returns (first, end) screen
    columns of the widest run of such columns, or None.
    """
    levels, neutral = grey(rgb)
    height = box.bottom - box.top
    found = []
    for column in range(box.right, min(box.right + search, levels.shape[1])):
        values = levels[box.top : box.bottom, column]
        falling = _span(np.diff(values) <= 1.0)
        ok = False
        if falling is not None and falling[1] - falling[0] >= 0.8 * height:
            run = values[falling[0] : falling[1] + 1]
            ok = run[0] - run[-1] > 200 and neutral[box.top + falling[0] : box.top + falling[1], column].all()
        found.append(ok)
    span = _span(found)
    return None if span is None else (box.right + span[0], box.right + span[1])
