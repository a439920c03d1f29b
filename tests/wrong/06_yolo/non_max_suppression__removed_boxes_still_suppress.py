# cell: non_max_suppression
# wrong: lets a box that was already removed remove others
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
    order = list(np.argsort(-scores, kind="stable"))
    removed = set()
    kept = []
    for rank, best in enumerate(order):
        if best not in removed:
            kept.append(best)
        for other in order[rank + 1:]:
            if iou(boxes[best], boxes[other]) > iou_threshold:
                removed.add(other)
    return np.array(kept, dtype=int)
