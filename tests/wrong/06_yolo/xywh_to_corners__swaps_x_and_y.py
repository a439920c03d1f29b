# cell: xywh_to_corners
# wrong: puts the y column where x belongs and x where y belongs
def xywh_to_corners(boxes):
    """Convert boxes from centre form (x, y, w, h) to corners (x1, y1, x2, y2).

    Parameters
    ----------
    boxes : ndarray, shape (N, 4)
        Centre x, centre y, width and height of each box.

    Returns
    -------
    corners : ndarray, shape (N, 4)
        Left, top, right and bottom of each box.
    """
    boxes = np.asarray(boxes, dtype=float)
    x, y, w, h = boxes[:, 1], boxes[:, 0], boxes[:, 3], boxes[:, 2]
    return np.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=1)
