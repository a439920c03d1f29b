# cell: iou
# wrong: does not clamp negative overlaps: two boxes apart diagonally get a positive intersection
def iou(box_a, box_b):
    """Return the intersection over union of two boxes.

    Parameters
    ----------
    box_a, box_b : ndarray, shape (4,)
        Boxes in corners form (x1, y1, x2, y2).

    Returns
    -------
    float
        Between 0 (no overlap) and 1 (identical boxes).
    """
    overlap_w = min(box_a[2], box_b[2]) - max(box_a[0], box_b[0])
    overlap_h = min(box_a[3], box_b[3]) - max(box_a[1], box_b[1])
    intersection = overlap_w * overlap_h
    area_a = (box_a[2] - box_a[0]) * (box_a[3] - box_a[1])
    area_b = (box_b[2] - box_b[0]) * (box_b[3] - box_b[1])
    union = area_a + area_b - intersection
    if union <= 0:
        return 0.0
    return float(intersection / union)
