# cell: non_max_suppression
# wrong: goes through the boxes in index order instead of best score first
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
    remaining = list(range(len(boxes)))
    kept = []
    while remaining:
        best = remaining.pop(0)
        kept.append(best)
        remaining = [i for i in remaining if iou(boxes[best], boxes[i]) <= iou_threshold]
    return np.array(kept, dtype=int)
