"""Object detection the YOLOv1 way: boxes, IoU, non-maximum suppression, targets, loss, mAP.

Boxes are NumPy arrays of shape ``(N, 4)``. Two layouts are used:

* **corners** ``(x1, y1, x2, y2)``: left, top, right, bottom, in pixels. This is
  the layout of every function that takes "boxes".
* **centre** ``(x, y, w, h)``: centre, width and height; YOLO predicts boxes this
  way. :func:`xywh_to_corners` and :func:`corners_to_xywh` convert.

A YOLOv1 output (or target) for one image has shape ``(S, S, B*5 + C)``: an
``S x S`` grid of cells; each cell holds ``B`` boxes ``(x, y, w, h, confidence)``
followed by ``C`` class probabilities. ``x, y`` are the box centre's offset
inside its cell (0 to 1), ``w, h`` its size as a fraction of the image.

Only :func:`yolo_loss` and :func:`yolo_loss_terms` need Keras (imported when
called); the rest is NumPy.
"""

import numpy as np

BOX_FIELDS = 5  # x, y, w, h, confidence


# ------------------------------------------------------------------ validation
def _check_boxes(boxes, name="boxes"):
    """Return ``boxes`` as a float array of shape (N, 4), or raise ValueError."""
    boxes = np.asarray(boxes, dtype=float)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got {boxes.shape}")
    return boxes


def _check_scores(scores, num_boxes, name="scores"):
    """Return ``scores`` as a float array of shape (num_boxes,), or raise ValueError."""
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (num_boxes,):
        raise ValueError(f"{name} must have shape ({num_boxes},), one per box, got {scores.shape}")
    return scores


def _check_fraction(value, name):
    """Raise ValueError unless ``value`` is a number in [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


# ----------------------------------------------------------------------- boxes
def xywh_to_corners(boxes):
    """Convert centre boxes ``(x, y, w, h)`` to corner boxes ``(x1, y1, x2, y2)``.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Centre ``x, y``, width ``w`` and height ``h`` of each box.

    Returns
    -------
    ndarray, shape (N, 4)
        Left, top, right and bottom of each box.

    Examples
    --------
    >>> xywh_to_corners([[5, 5, 4, 2]])
    array([[3., 4., 7., 6.]])
    """
    boxes = _check_boxes(boxes)
    centre, size = boxes[:, :2], boxes[:, 2:]
    return np.concatenate([centre - size / 2, centre + size / 2], axis=1)


def corners_to_xywh(boxes):
    """Convert corner boxes ``(x1, y1, x2, y2)`` to centre boxes ``(x, y, w, h)``.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Left, top, right and bottom of each box.

    Returns
    -------
    ndarray, shape (N, 4)
        Centre ``x, y``, width and height of each box.

    Examples
    --------
    >>> corners_to_xywh([[3, 4, 7, 6]])
    array([[5., 5., 4., 2.]])
    """
    boxes = _check_boxes(boxes)
    return np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], axis=1)


def box_area(boxes):
    """Return the area of each corner box; a box with ``x2 < x1`` or ``y2 < y1`` has area 0.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Corner boxes.

    Returns
    -------
    ndarray, shape (N,)

    Examples
    --------
    >>> box_area([[0, 0, 4, 2], [5, 5, 3, 9]])
    array([8., 0.])
    """
    return _area(_check_boxes(boxes))


def _area(boxes):
    """Areas of corner boxes along the last axis, negative sides counted as 0 (no checks)."""
    size = np.maximum(boxes[..., 2:] - boxes[..., :2], 0)
    return size[..., 0] * size[..., 1]


def _iou(boxes_a, boxes_b):
    """IoU of corner boxes that broadcast against each other along the last axis (no checks)."""
    top_left = np.maximum(boxes_a[..., :2], boxes_b[..., :2])
    bottom_right = np.minimum(boxes_a[..., 2:], boxes_b[..., 2:])
    overlap = np.maximum(bottom_right - top_left, 0)
    intersection = overlap[..., 0] * overlap[..., 1]
    union = _area(boxes_a) + _area(boxes_b) - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def iou(boxes_a, boxes_b):
    """Return the intersection over union of every box in ``boxes_a`` with every box in ``boxes_b``.

    IoU = area of the intersection / area of the union. The overlap along each
    axis is clamped at zero, so disjoint boxes, boxes that only touch and
    degenerate boxes (zero area, or ``x2 < x1``) all give 0, never NaN.

    Parameters
    ----------
    boxes_a : array_like, shape (N, 4)
        Corner boxes ``(x1, y1, x2, y2)``.
    boxes_b : array_like, shape (M, 4)
        Corner boxes.

    Returns
    -------
    ndarray, shape (N, M)
        Values in [0, 1].

    Raises
    ------
    ValueError
        If either argument is not of shape (N, 4).

    Examples
    --------
    >>> iou([[0, 0, 2, 2]], [[1, 0, 3, 2], [2, 2, 4, 4], [0, 0, 2, 2]])
    array([[0.33333333, 0.        , 1.        ]])
    """
    boxes_a = _check_boxes(boxes_a, "boxes_a")
    boxes_b = _check_boxes(boxes_b, "boxes_b")
    return _iou(boxes_a[:, None, :], boxes_b[None, :, :])


# ---------------------------------------------------------------------- NMS
def non_max_suppression(
    boxes, scores, iou_threshold=0.5, score_threshold=-np.inf, max_outputs=None
):
    """Keep the best-scoring boxes and drop every box that overlaps a kept one too much.

    Greedy, as :func:`tf.image.non_max_suppression`: drop boxes whose score is
    not above ``score_threshold``; then, best score first (ties: lower index
    first), keep a box and remove the remaining boxes whose IoU with it is above
    ``iou_threshold``; repeat. All pairwise IoUs are computed at once, which is
    fast for the few hundred boxes of one image (memory grows as ``N**2``).

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Corner boxes.
    scores : array_like, shape (N,)
        One score per box.
    iou_threshold : float in [0, 1], default 0.5
        A box is suppressed when its IoU with a kept box is greater than this.
    score_threshold : float, default -inf
        Boxes with a score not greater than this are dropped first.
    max_outputs : int, optional
        Keep at most this many boxes.

    Returns
    -------
    ndarray of int, shape (K,)
        Indices of the kept boxes, best score first.

    Raises
    ------
    ValueError
        If ``boxes`` is not (N, 4), ``scores`` is not (N,), ``iou_threshold`` is
        outside [0, 1] or ``max_outputs`` is negative.

    Examples
    --------
    >>> boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]]
    >>> non_max_suppression(boxes, [0.9, 0.8, 0.7])
    array([0, 2])
    """
    boxes = _check_boxes(boxes)
    scores = _check_scores(scores, len(boxes))
    _check_fraction(iou_threshold, "iou_threshold")
    if max_outputs is not None and max_outputs < 0:
        raise ValueError(f"max_outputs must be None or >= 0, got {max_outputs!r}")
    limit = len(boxes) if max_outputs is None else max_outputs
    order = np.argsort(-scores, kind="stable")  # best first
    order = order[scores[order] > score_threshold]
    ranked = boxes[order]
    overlaps = _iou(ranked[:, None, :], ranked[None, :, :])  # every pair at once
    alive = np.ones(len(order), dtype=bool)
    kept = []
    for rank in range(len(order)):
        if len(kept) == limit:
            break
        if alive[rank]:  # the best box not yet removed: keep it, remove its duplicates
            kept.append(order[rank])
            alive &= overlaps[rank] <= iou_threshold
    return np.array(kept, dtype=int)


def non_max_suppression_per_class(
    boxes, scores, classes, iou_threshold=0.5, score_threshold=-np.inf, max_outputs=None
):
    """Run :func:`non_max_suppression` class by class: boxes of different classes never compete.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Corner boxes.
    scores : array_like, shape (N,)
        One score per box.
    classes : array_like of int, shape (N,)
        One class index per box.
    iou_threshold, score_threshold
        As in :func:`non_max_suppression`.
    max_outputs : int, optional
        Keep at most this many boxes in total (the best-scoring ones).

    Returns
    -------
    ndarray of int, shape (K,)
        Indices of the kept boxes, best score first (ties: lower index first).

    Examples
    --------
    >>> boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11]]
    >>> non_max_suppression_per_class(boxes, [0.9, 0.8, 0.7], classes=[0, 0, 1])
    array([0, 2])
    """
    boxes = _check_boxes(boxes)
    scores = _check_scores(scores, len(boxes))
    classes = _check_scores(classes, len(boxes), "classes").astype(int)
    if max_outputs is not None and max_outputs < 0:
        raise ValueError(f"max_outputs must be None or >= 0, got {max_outputs!r}")
    kept = []
    for label in np.unique(classes):
        members = np.flatnonzero(classes == label)
        chosen = non_max_suppression(
            boxes[members], scores[members], iou_threshold, score_threshold
        )
        kept.append(members[chosen])
    kept = np.concatenate(kept + [np.zeros(0, dtype=int)])
    kept = kept[np.lexsort((kept, -scores[kept]))]
    return kept if max_outputs is None else kept[:max_outputs]


# ------------------------------------------------------------ YOLOv1 targets
def _check_grid(grid_size, num_boxes, num_classes, image_size):
    for value, name in [
        (grid_size, "grid_size"),
        (num_boxes, "num_boxes"),
        (num_classes, "num_classes"),
        (image_size, "image_size"),
    ]:
        _check_positive_int(value, name)


def encode_targets(boxes, labels, grid_size, num_boxes, num_classes, image_size):
    """Write one image's ground truth into a YOLOv1 target tensor.

    Each object belongs to the cell that contains its centre. That cell gets, in
    its first box slot, ``(x, y, w, h, 1)``: the centre's offset inside the cell
    (0 to 1), the width and height as fractions of the image, and confidence 1;
    and a one-hot class vector. Every other entry is 0. A YOLOv1 cell holds one
    class only: when two centres fall in the same cell, the first object is kept.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Corner boxes in pixels.
    labels : array_like of int, shape (N,)
        Class of each box, in ``[0, num_classes)``.
    grid_size : int
        ``S``, cells per side.
    num_boxes : int
        ``B``, boxes per cell.
    num_classes : int
        ``C``.
    image_size : int
        Side of the (square) image in pixels.

    Returns
    -------
    ndarray, shape (S, S, B*5 + C)

    Examples
    --------
    >>> target = encode_targets([[8, 0, 16, 8]], [1], grid_size=2, num_boxes=1,
    ...                         num_classes=2, image_size=16)
    >>> target[0, 1]  # row 0, column 1: x, y, w, h, confidence, then classes
    array([0.5, 0.5, 0.5, 0.5, 1. , 0. , 1. ])
    """
    _check_grid(grid_size, num_boxes, num_classes, image_size)
    boxes = _check_boxes(boxes)
    labels = np.asarray(labels)
    if labels.shape != (len(boxes),) or not np.all((labels >= 0) & (labels < num_classes)):
        raise ValueError(
            f"labels must be {len(boxes)} ints in [0, {num_classes}), one per box, got {labels!r}"
        )
    centre = corners_to_xywh(boxes)
    scaled = centre[:, :2] * grid_size / image_size  # centre in cell units
    cell = np.clip(np.floor(scaled).astype(int), 0, grid_size - 1)  # (column, row)
    _, first = np.unique(cell[:, 1] * grid_size + cell[:, 0], return_index=True)
    target = np.zeros((grid_size, grid_size, num_boxes * BOX_FIELDS + num_classes))
    row, col = cell[first, 1], cell[first, 0]
    target[row, col, 0:2] = scaled[first] - cell[first]
    target[row, col, 2:4] = centre[first, 2:] / image_size
    target[row, col, 4] = 1.0
    target[row, col, num_boxes * BOX_FIELDS + labels[first].astype(int)] = 1.0
    return target


def decode_predictions(output, num_boxes, image_size, score_threshold=0.0):
    """Turn one image's YOLOv1 output into corner boxes, scores and classes.

    Every cell's ``B`` boxes are read back into pixels; a box's score is its
    confidence times its cell's highest class probability, and its class is that
    class. Boxes with a score not above ``score_threshold`` are dropped. No
    non-maximum suppression here: see :func:`postprocess`.

    Parameters
    ----------
    output : array_like, shape (S, S, B*5 + C)
        Network output (or target) for one image.
    num_boxes : int
        ``B``.
    image_size : int
        Side of the (square) image in pixels.
    score_threshold : float, default 0.0
        Keep boxes scoring above this.

    Returns
    -------
    boxes : ndarray, shape (K, 4)
        Corner boxes in pixels, in cell order (row by row, then box slot).
    scores : ndarray, shape (K,)
    classes : ndarray of int, shape (K,)

    Examples
    --------
    >>> target = encode_targets([[8, 0, 16, 8]], [1], 2, 1, 2, 16)
    >>> boxes, scores, classes = decode_predictions(target, num_boxes=1, image_size=16)
    >>> boxes, scores, classes
    (array([[ 8.,  0., 16.,  8.]]), array([1.]), array([1]))
    """
    output = np.asarray(output, dtype=float)
    _check_positive_int(num_boxes, "num_boxes")
    _check_positive_int(image_size, "image_size")
    split = num_boxes * BOX_FIELDS
    if output.ndim != 3 or output.shape[0] != output.shape[1] or output.shape[2] <= split:
        raise ValueError(
            f"output must have shape (S, S, {num_boxes}*5 + C) with C >= 1, got {output.shape}"
        )
    grid_size = output.shape[0]
    predicted = output[..., :split].reshape(grid_size, grid_size, num_boxes, BOX_FIELDS)
    class_probs = output[..., split:]
    row, col = np.meshgrid(np.arange(grid_size), np.arange(grid_size), indexing="ij")
    centre_x = (col[..., None] + predicted[..., 0]) / grid_size * image_size
    centre_y = (row[..., None] + predicted[..., 1]) / grid_size * image_size
    size = predicted[..., 2:4] * image_size
    xywh = np.stack([centre_x, centre_y, size[..., 0], size[..., 1]], axis=-1).reshape(-1, 4)
    scores = (predicted[..., 4] * class_probs.max(axis=-1, keepdims=True)).reshape(-1)
    classes = np.repeat(class_probs.argmax(axis=-1), num_boxes).reshape(-1)
    keep = scores > score_threshold
    return xywh_to_corners(xywh[keep]), scores[keep], classes[keep]


def postprocess(output, num_boxes, image_size, score_threshold=0.2, iou_threshold=0.5):
    """Decode one image's YOLOv1 output and apply per-class non-maximum suppression.

    Parameters
    ----------
    output : array_like, shape (S, S, B*5 + C)
        Network output for one image.
    num_boxes, image_size
        As in :func:`decode_predictions`.
    score_threshold : float, default 0.2
        Keep boxes scoring above this.
    iou_threshold : float in [0, 1], default 0.5
        As in :func:`non_max_suppression`.

    Returns
    -------
    boxes : ndarray, shape (K, 4)
    scores : ndarray, shape (K,)
    classes : ndarray of int, shape (K,)
        The detections, best score first.

    Examples
    --------
    >>> output = encode_targets([[8, 0, 16, 8]], [1], 2, 2, 2, 16)
    >>> output[0, 1, 5:10] = output[0, 1, 0:5] * [1, 1, 1, 1, 0.9]  # a second, duplicate box
    >>> postprocess(output, num_boxes=2, image_size=16)[1]
    array([1.])
    """
    boxes, scores, classes = decode_predictions(output, num_boxes, image_size, score_threshold)
    keep = non_max_suppression_per_class(boxes, scores, classes, iou_threshold)
    return boxes[keep], scores[keep], classes[keep]


# --------------------------------------------------------------- YOLOv1 loss
def _corners_in_image(xywh, grid_size, ops):
    """(x, y) offsets in cells and (w, h) in image fractions -> corners in image fractions."""
    row = ops.reshape(ops.arange(grid_size, dtype=xywh.dtype), (grid_size, 1, 1))
    col = ops.reshape(ops.arange(grid_size, dtype=xywh.dtype), (1, grid_size, 1))
    centre_x = (col + xywh[..., 0]) / grid_size
    centre_y = (row + xywh[..., 1]) / grid_size
    half_w, half_h = xywh[..., 2] / 2, xywh[..., 3] / 2
    return centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h


def _iou_tensors(corners_a, corners_b, ops):
    """Elementwise IoU of two tuples (x1, y1, x2, y2) of broadcastable tensors."""
    left, right = ops.maximum(corners_a[0], corners_b[0]), ops.minimum(corners_a[2], corners_b[2])
    top, bottom = ops.maximum(corners_a[1], corners_b[1]), ops.minimum(corners_a[3], corners_b[3])
    intersection = ops.maximum(right - left, 0) * ops.maximum(bottom - top, 0)

    def area(c):
        return ops.maximum(c[2] - c[0], 0) * ops.maximum(c[3] - c[1], 0)

    union = area(corners_a) + area(corners_b) - intersection
    return ops.where(union > 0, intersection / ops.maximum(union, 1e-12), 0.0)


def yolo_loss_terms(y_true, y_pred, num_boxes, lambda_coord=5.0, lambda_noobj=0.5):
    """Return the four terms of the YOLOv1 loss, per image.

    In a cell that contains an object, the predicted box with the highest IoU
    with the true box is "responsible" for it. With ``1obj`` marking responsible
    boxes and ``1noobj`` every other box:

    * ``coord``: ``lambda_coord * sum 1obj [(x - x^)^2 + (y - y^)^2
      + (sqrt w - sqrt w^)^2 + (sqrt h - sqrt h^)^2]``; square roots so that an
      error of a few pixels costs more on a small box than on a large one;
    * ``object``: ``sum 1obj (IoU - C^)^2``: the confidence should be the IoU
      of the box with the truth (held constant, no gradient through it);
    * ``no_object``: ``lambda_noobj * sum 1noobj C^2``;
    * ``class``: ``sum over cells with an object of sum_c (p(c) - p^(c))^2``.

    Parameters
    ----------
    y_true : tensor or ndarray, shape (N, S, S, B*5 + C)
        Targets from :func:`encode_targets` (truth in the first box slot).
    y_pred : tensor or ndarray, shape (N, S, S, B*5 + C)
        Network outputs, already squashed: ``x, y, w, h, C`` in [0, 1] and
        class probabilities.
    num_boxes : int
        ``B``.
    lambda_coord : float, default 5.0
    lambda_noobj : float, default 0.5

    Returns
    -------
    dict of str to tensor, shape (N,)
        Keys ``"coord"``, ``"object"``, ``"no_object"``, ``"class"``.

    Examples
    --------
    >>> y_true = encode_targets([[0, 0, 8, 8]], [0], 1, 1, 2, 16)[None]
    >>> y_pred = y_true.copy()
    >>> y_pred[..., 5:] = [0.75, 0.25]  # box perfect, class probabilities off by 0.25
    >>> {name: float(term[0]) for name, term in yolo_loss_terms(y_true, y_pred, 1).items()}
    {'coord': 0.0, 'object': 0.0, 'no_object': 0.0, 'class': 0.125}
    """
    import keras

    ops = keras.ops
    y_true = ops.convert_to_tensor(y_true, dtype="float32")
    y_pred = ops.convert_to_tensor(y_pred, dtype="float32")
    grid_size = y_true.shape[1]
    split = num_boxes * BOX_FIELDS
    if tuple(y_true.shape[1:]) != tuple(y_pred.shape[1:]) or y_true.shape[-1] <= split:
        raise ValueError(
            f"y_true and y_pred must both have shape (N, S, S, {num_boxes}*5 + C) with C >= 1, "
            f"got {tuple(y_true.shape)} and {tuple(y_pred.shape)}"
        )
    pred = ops.reshape(y_pred[..., :split], (-1, grid_size, grid_size, num_boxes, BOX_FIELDS))
    truth = y_true[..., None, 0:4]  # (N, S, S, 1, 4), broadcast over the B predictions
    has_object = y_true[..., 4]  # (N, S, S)
    ious = _iou_tensors(
        _corners_in_image(pred[..., :4], grid_size, ops),
        _corners_in_image(truth, grid_size, ops),
        ops,
    )  # (N, S, S, B)
    responsible = ops.one_hot(ops.argmax(ious, axis=-1), num_boxes) * has_object[..., None]
    centre_error = ops.sum(ops.square(pred[..., 0:2] - truth[..., 0:2]), axis=-1)
    size_error = ops.sum(
        ops.square(ops.sqrt(ops.maximum(pred[..., 2:4], 1e-9)) - ops.sqrt(truth[..., 2:4])), axis=-1
    )
    confidence = pred[..., 4]
    class_error = ops.sum(ops.square(y_true[..., split:] - y_pred[..., split:]), axis=-1)

    def per_image(x):
        return ops.sum(ops.reshape(x, (ops.shape(x)[0], -1)), axis=1)

    return {
        "coord": lambda_coord * per_image(responsible * (centre_error + size_error)),
        "object": per_image(responsible * ops.square(ops.stop_gradient(ious) - confidence)),
        "no_object": lambda_noobj * per_image((1 - responsible) * ops.square(confidence)),
        "class": per_image(has_object * class_error),
    }


def yolo_loss(y_true, y_pred, num_boxes=2, lambda_coord=5.0, lambda_noobj=0.5):
    """Return the YOLOv1 loss of each image: the sum of :func:`yolo_loss_terms`.

    Use it in Keras with ``functools.partial(yolo_loss, num_boxes=B)`` as the loss.

    Parameters
    ----------
    y_true, y_pred : tensor or ndarray, shape (N, S, S, B*5 + C)
        As in :func:`yolo_loss_terms`.
    num_boxes : int, default 2
    lambda_coord : float, default 5.0
    lambda_noobj : float, default 0.5

    Returns
    -------
    tensor, shape (N,)

    Examples
    --------
    >>> y_true = encode_targets([[0, 0, 8, 8]], [0], 1, 1, 2, 16)[None]
    >>> y_pred = y_true.copy()
    >>> y_pred[..., 4] = 0.5  # confidence 0.5 where the IoU is 1
    >>> round(float(yolo_loss(y_true, y_pred, num_boxes=1)[0]), 4)
    0.25
    """
    terms = yolo_loss_terms(y_true, y_pred, num_boxes, lambda_coord, lambda_noobj)
    return terms["coord"] + terms["object"] + terms["no_object"] + terms["class"]


# ------------------------------------------------------------------------ mAP
def average_precision(recall, precision):
    """Return the area under a precision-recall curve, interpolated at every point.

    The curve is first made non-increasing (each precision becomes the highest
    precision at that recall or beyond), then the area is summed over the
    recall steps, as in PASCAL VOC 2010 and later.

    Parameters
    ----------
    recall : array_like, shape (K,)
        Non-decreasing recalls after each detection, best score first.
    precision : array_like, shape (K,)
        The matching precisions.

    Returns
    -------
    float

    Examples
    --------
    >>> average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3])
    0.8333333333333333
    """
    recall = np.asarray(recall, dtype=float)
    precision = np.asarray(precision, dtype=float)
    if recall.ndim != 1 or recall.shape != precision.shape:
        raise ValueError(
            "recall and precision must be 1-D of the same length, "
            f"got shapes {recall.shape} and {precision.shape}"
        )
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def precision_recall(predictions, ground_truth, label, iou_threshold=0.5):
    """Return the precision and recall after each detection of one class, best score first.

    The matching rule is that of :func:`average_precision_per_class`.

    Parameters
    ----------
    predictions : sequence of (boxes, scores, classes)
        Per image: ``boxes`` (K, 4) corners, ``scores`` (K,), ``classes`` (K,).
    ground_truth : sequence of (boxes, labels)
        Per image: ``boxes`` (M, 4) corners, ``labels`` (M,).
    label : int
        The class.
    iou_threshold : float in [0, 1], default 0.5

    Returns
    -------
    precision : ndarray, shape (D,)
    recall : ndarray, shape (D,)
        After each of the ``D`` detections of class ``label``; recall is 0
        throughout when the class has no true box.

    Examples
    --------
    >>> truth = [([[0, 0, 10, 10], [20, 0, 30, 10]], [0, 0])]
    >>> found = [([[0, 0, 10, 10], [50, 50, 60, 60], [20, 0, 30, 9]], [0.9, 0.8, 0.7], [0, 0, 0])]
    >>> precision_recall(found, truth, label=0)
    (array([1.        , 0.5       , 0.66666667]), array([0.5, 0.5, 1. ]))
    """
    _check_fraction(iou_threshold, "iou_threshold")
    truths = [
        np.asarray(boxes, dtype=float).reshape(-1, 4)[np.asarray(labels) == label]
        for boxes, labels in ground_truth
    ]
    found = [np.zeros(len(t), dtype=bool) for t in truths]
    detections = [
        (score, image, box)
        for image, (boxes, scores, classes) in enumerate(predictions)
        for box, score, cls in zip(np.asarray(boxes, dtype=float).reshape(-1, 4), scores, classes)
        if cls == label
    ]
    order = np.argsort([-score for score, _, _ in detections], kind="stable")
    true_positive = np.zeros(len(detections))
    for rank, index in enumerate(order):
        _, image, box = detections[index]
        if len(truths[image]) == 0:
            continue
        overlaps = iou(box[None], truths[image])[0]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= iou_threshold and not found[image][best]:
            found[image][best] = True
            true_positive[rank] = 1
    hits = np.cumsum(true_positive)
    num_truths = sum(len(t) for t in truths)
    return hits / np.arange(1, len(detections) + 1), hits / max(num_truths, 1)


def average_precision_per_class(predictions, ground_truth, iou_threshold=0.5):
    """Return the average precision of each class that has at least one true box.

    Detections of a class, pooled over all images, are taken best score first.
    A detection is a true positive when its IoU with a true box of its class in
    its image is at least ``iou_threshold`` and that box (the one it overlaps
    most) has not been found by a better detection; otherwise it is a false
    positive (PASCAL VOC's rule). Recall is divided by the number of true boxes.

    Parameters
    ----------
    predictions : sequence of (boxes, scores, classes)
        Per image: ``boxes`` (K, 4) corners, ``scores`` (K,), ``classes`` (K,).
    ground_truth : sequence of (boxes, labels)
        Per image: ``boxes`` (M, 4) corners, ``labels`` (M,).
    iou_threshold : float in [0, 1], default 0.5

    Returns
    -------
    dict of int to float
        Average precision of each class present in ``ground_truth``.

    Examples
    --------
    >>> truth = [([[0, 0, 10, 10]], [0])]
    >>> found = [([[0, 0, 10, 10], [50, 50, 60, 60]], [0.6, 0.9], [0, 0])]
    >>> average_precision_per_class(found, truth)
    {0: 0.5}
    """
    _check_fraction(iou_threshold, "iou_threshold")
    if len(predictions) != len(ground_truth):
        raise ValueError(
            "predictions and ground_truth must hold one entry per image, "
            f"got {len(predictions)} and {len(ground_truth)}"
        )
    all_labels = [np.asarray(labels, dtype=int).reshape(-1) for _, labels in ground_truth]
    result = {}
    for label in np.unique(np.concatenate(all_labels + [np.zeros(0, dtype=int)])):
        precision, recall = precision_recall(predictions, ground_truth, label, iou_threshold)
        result[int(label)] = average_precision(recall, precision)
    return result


def mean_average_precision(predictions, ground_truth, iou_threshold=0.5):
    """Return the mean over classes of :func:`average_precision_per_class` (mAP).

    Parameters
    ----------
    predictions, ground_truth, iou_threshold
        As in :func:`average_precision_per_class`.

    Returns
    -------
    float
        0 when there is no true box at all.

    Examples
    --------
    >>> truth = [([[0, 0, 10, 10]], [0]), ([[0, 0, 10, 10]], [1])]
    >>> found = [([[0, 0, 10, 10]], [0.9], [0]), ([[0, 0, 10, 5]], [0.9], [1])]
    >>> mean_average_precision(found, truth)  # class 1's box has IoU 0.5
    1.0
    >>> mean_average_precision(found, truth, iou_threshold=0.75)
    0.5
    """
    per_class = average_precision_per_class(predictions, ground_truth, iou_threshold)
    return float(np.mean(list(per_class.values()))) if per_class else 0.0


COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)


def mean_average_precision_coco(predictions, ground_truth):
    """Return COCO's mAP@[0.5:0.95]: the mAP averaged over IoU thresholds 0.5, 0.55, ..., 0.95.

    It rewards boxes that are not just roughly right but tight.

    Parameters
    ----------
    predictions, ground_truth
        As in :func:`average_precision_per_class`.

    Returns
    -------
    float

    Examples
    --------
    >>> truth = [([[0, 0, 10, 10]], [0])]
    >>> found = [([[0, 0, 10, 8.5]], [0.9], [0])]  # IoU 0.85: found at 8 of the 10 thresholds
    >>> round(mean_average_precision_coco(found, truth), 2)
    0.8
    """
    return float(
        np.mean([mean_average_precision(predictions, ground_truth, t) for t in COCO_IOU_THRESHOLDS])
    )


# -------------------------------------------------------------------- drawing
def draw_boxes(ax, boxes, classes=None, scores=None, class_names=None, color=None, linestyle="-"):
    """Draw corner boxes on Matplotlib axes, each labelled with its class and score.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes showing the image (pixel coordinates, as ``imshow`` sets them).
    boxes : array_like, shape (N, 4)
        Corner boxes in pixels.
    classes : array_like of int, shape (N,), optional
        Class of each box; sets its colour and label.
    scores : array_like, shape (N,), optional
        Score of each box, written after the class.
    class_names : sequence of str, optional
        Names of the classes, for the labels.
    color : str, optional
        One colour for every box instead of one per class.
    linestyle : str, default "-"
        Line style of the rectangles (e.g. ``"--"`` for the truth).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = draw_boxes(ax, [[2, 2, 8, 8]], classes=[1], scores=[0.87], class_names=["a", "b"])
    >>> [t.get_text() for t in ax.texts], len(ax.patches)
    (['b 0.87'], 1)
    >>> plt.close(fig)
    """
    import matplotlib.patches
    import matplotlib.pyplot as plt

    boxes = _check_boxes(boxes)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (x1, y1, x2, y2) in enumerate(boxes):
        cls = None if classes is None else int(classes[index])
        edge = color or palette[(cls or 0) % len(palette)]
        ax.add_patch(
            matplotlib.patches.Rectangle(
                (x1, y1), x2 - x1, y2 - y1,
                fill=False, edgecolor=edge, linewidth=1.5, linestyle=linestyle,
            )
        )
        words = []
        if cls is not None:
            words.append(class_names[cls] if class_names is not None else str(cls))
        if scores is not None:
            words.append(f"{scores[index]:.2f}")
        if words:
            ax.text(x1, y1 - 1, " ".join(words), color="white", fontsize=7, va="bottom",
                    bbox={"facecolor": edge, "edgecolor": "none", "pad": 1, "alpha": 0.8})
    return ax
