# cell: non_max_suppression
# wrong: marks overlapping boxes but still returns every box, best first
def non_max_suppression(boxes, scores, iou_threshold):
    """Return the indices of the boxes that greedy non-maximum suppression keeps.

    Parameters
    ----------
    boxes : ndarray, shape (N, 4)
        Boxes in corners form.
    scores : ndarray, shape (N,)
        One score per box.
    iou_threshold : float
        A box is removed when its IoU with a kept box is greater than this.

    Returns
    -------
    ndarray of int, shape (K,)
        Indices of the kept boxes, best score first.
    """
    order = np.argsort(-scores, kind="stable")
    suppressed = set()
    for rank, best in enumerate(order):
        for other in order[rank + 1:]:
            if iou(boxes[best], boxes[other]) > iou_threshold:
                suppressed.add(other)
    return np.array(order, dtype=int)
