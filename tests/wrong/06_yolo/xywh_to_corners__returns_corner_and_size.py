# cell: xywh_to_corners
# wrong: returns (x1, y1, w, h): the top-left corner, then the size
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
    x, y, w, h = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    return np.stack([x - w / 2, y - h / 2, w, h], axis=1)
