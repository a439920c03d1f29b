# cell: filter_boxes
# wrong: keeps the boxes below the threshold instead of above it
def filter_boxes(boxes, scores, classes, threshold):
    """Keep the boxes whose score is greater than threshold, with their scores and classes.

    Parameters
    ----------
    boxes : ndarray, shape (N, 4)
    scores : ndarray, shape (N,)
    classes : ndarray of int, shape (N,)
    threshold : float

    Returns
    -------
    boxes : ndarray, shape (K, 4)
    scores : ndarray, shape (K,)
    classes : ndarray, shape (K,)
        The K kept boxes, scores and classes, in their original order.
    """
    keep = scores < threshold
    return boxes[keep], scores[keep], classes[keep]
