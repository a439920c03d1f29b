"""Tests of cnnbook.detection: IoU, box formats, NMS, YOLOv1 targets and loss, mAP."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnbook import detection

tf = pytest.importorskip("tensorflow")

ATOL = 1e-6


# ------------------------------------------------------------------------ IoU
@pytest.mark.parametrize(
    "box_b, expected",
    [
        ([20, 20, 30, 30], 0.0),  # disjoint
        ([10, 0, 20, 10], 0.0),  # touching along an edge
        ([10, 10, 20, 20], 0.0),  # touching at a corner
        ([2, 2, 6, 6], 16 / 100),  # contained
        ([0, 0, 10, 10], 1.0),  # identical
        ([5, 0, 15, 10], 50 / 150),  # half overlapping
    ],
    ids=["disjoint", "edge", "corner", "contained", "identical", "half"],
)
def test_iou_hand_cases(box_b, expected):
    assert detection.iou([[0, 0, 10, 10]], [box_b])[0, 0] == pytest.approx(expected, abs=ATOL)


@pytest.mark.parametrize(
    "degenerate",
    [[5, 5, 5, 5], [5, 0, 5, 10], [8, 8, 2, 2], [0, 10, 10, 0]],
    ids=["point", "zero-width", "flipped", "flipped-y"],
)
def test_iou_of_degenerate_boxes_is_zero_not_nan(degenerate):
    with np.errstate(all="raise"):  # no 0/0 warning either
        result = detection.iou([degenerate, [0, 0, 10, 10]], [degenerate])
    np.testing.assert_array_equal(result, [[0.0], [0.0]])


def test_iou_matrix_shape_and_symmetry():
    rng = np.random.default_rng(0)
    a = detection.xywh_to_corners(np.c_[rng.uniform(0, 50, (5, 2)), rng.uniform(1, 20, (5, 2))])
    b = detection.xywh_to_corners(np.c_[rng.uniform(0, 50, (3, 2)), rng.uniform(1, 20, (3, 2))])
    result = detection.iou(a, b)
    assert result.shape == (5, 3)
    np.testing.assert_allclose(result, detection.iou(b, a).T, atol=ATOL)


def test_iou_of_empty_sets_has_empty_shape():
    assert detection.iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)


@pytest.mark.parametrize("bad", [[0, 0, 1], [[0, 0, 1]], np.zeros((2, 4, 1))])
def test_iou_rejects_boxes_not_n_by_4(bad):
    with pytest.raises(ValueError, match=r"boxes_a must have shape \(N, 4\)"):
        detection.iou(bad, [[0, 0, 1, 1]])


# ------------------------------------------------------------ box formats
def test_xywh_to_corners_hand_case():
    np.testing.assert_array_equal(detection.xywh_to_corners([[10, 20, 4, 6]]), [[8, 17, 12, 23]])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=4, max_size=4))
def test_corners_and_xywh_round_trip(values):
    corners = np.array([values])
    back = detection.xywh_to_corners(detection.corners_to_xywh(corners))
    np.testing.assert_allclose(back, corners, atol=1e-9)


def test_box_area_clamps_flipped_boxes_to_zero():
    np.testing.assert_array_equal(detection.box_area([[0, 0, 2, 3], [2, 0, 0, 3]]), [6, 0])


# --------------------------------------------------------------------- NMS
@st.composite
def nms_cases(draw):
    """Random valid boxes with distinct scores, clear of the IoU threshold (float32 round-off)."""
    count = draw(st.integers(0, 25))
    coords = st.floats(0, 50, width=32, allow_subnormal=False)
    sizes = st.floats(1, 25, width=32)
    xy = np.array(draw(st.lists(st.tuples(coords, coords), min_size=count, max_size=count)))
    wh = np.array(draw(st.lists(st.tuples(sizes, sizes), min_size=count, max_size=count)))
    xy, wh = xy.reshape(count, 2), wh.reshape(count, 2)
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    # distinct scores (ties are ordered by index in both, but keep the test about overlaps);
    # no subnormals, which TensorFlow flushes to zero
    score = st.floats(0, 1, width=32, allow_subnormal=False)
    scores = np.array(
        draw(st.lists(score, min_size=count, max_size=count, unique=True)), dtype=np.float32
    )
    iou_threshold = draw(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 1.0]))
    score_threshold = draw(st.sampled_from([-np.inf, 0.2, 0.5]))
    max_outputs = draw(st.integers(0, 30))
    overlaps = detection.iou(boxes, boxes)[~np.eye(count, dtype=bool)]
    assume(np.all((overlaps == 0) | (np.abs(overlaps - iou_threshold) > 1e-4)))
    assume(np.all(np.abs(scores - score_threshold) > 1e-6))
    return boxes, scores, iou_threshold, score_threshold, max_outputs


@settings(max_examples=150, deadline=None)
@given(nms_cases())
def test_nms_matches_tensorflow(case):
    boxes, scores, iou_threshold, score_threshold, max_outputs = case
    expected = tf.image.non_max_suppression(
        boxes, scores, max_outputs, iou_threshold=iou_threshold, score_threshold=score_threshold
    ).numpy()
    kept = detection.non_max_suppression(boxes, scores, iou_threshold, score_threshold, max_outputs)
    np.testing.assert_array_equal(kept, expected)


def test_nms_hand_case_keeps_best_of_each_cluster():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [21, 21, 31, 31], [50, 50, 51, 51]]
    scores = [0.6, 0.9, 0.8, 0.95, 0.1]
    np.testing.assert_array_equal(detection.non_max_suppression(boxes, scores), [3, 1, 4])


def test_nms_ties_keep_lower_index_first():
    boxes = [[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]]
    kept = detection.non_max_suppression(boxes, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(kept, [0, 2])


def test_nms_score_threshold_is_strict():
    boxes = [[0, 0, 1, 1], [5, 5, 6, 6]]
    kept = detection.non_max_suppression(boxes, [0.5, 0.6], score_threshold=0.5)
    np.testing.assert_array_equal(kept, [1])


def test_nms_of_no_boxes_is_empty_int_array():
    kept = detection.non_max_suppression(np.zeros((0, 4)), [])
    assert kept.shape == (0,) and kept.dtype.kind == "i"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"boxes": [[0, 0, 1]]}, r"boxes must have shape \(N, 4\)"),
        ({"scores": [0.5, 0.4]}, r"scores must have shape \(1,\)"),
        ({"iou_threshold": 1.5}, r"iou_threshold must be in \[0, 1\]"),
        ({"iou_threshold": -0.1}, r"iou_threshold must be in \[0, 1\]"),
        ({"max_outputs": -1}, "max_outputs"),
    ],
)
def test_nms_rejects_bad_arguments(kwargs, match):
    arguments = {"boxes": [[0, 0, 1, 1]], "scores": [0.5]} | kwargs
    with pytest.raises(ValueError, match=match):
        detection.non_max_suppression(**arguments)


def test_per_class_nms_lets_classes_overlap():
    boxes = [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]
    kept = detection.non_max_suppression_per_class(boxes, [0.9, 0.8, 0.7], [0, 1, 0])
    np.testing.assert_array_equal(kept, [0, 1])


@settings(max_examples=60, deadline=None)
@given(nms_cases(), st.data())
def test_per_class_nms_equals_tensorflow_run_per_class(case, data):
    boxes, scores, iou_threshold, score_threshold, _ = case
    count = len(boxes)
    classes = np.array(data.draw(st.lists(st.integers(0, 2), min_size=count, max_size=count)))
    expected = np.concatenate(
        [np.zeros(0, dtype=int)]
        + [
            np.flatnonzero(classes == c)[
                tf.image.non_max_suppression(
                    boxes[classes == c], scores[classes == c], len(boxes),
                    iou_threshold=iou_threshold, score_threshold=score_threshold,
                ).numpy()
            ]
            for c in range(3)
        ]
    )
    expected = expected[np.argsort(-scores[expected], kind="stable")]
    kept = detection.non_max_suppression_per_class(
        boxes, scores, classes, iou_threshold, score_threshold
    )
    np.testing.assert_array_equal(kept, expected)


def test_per_class_nms_rejects_classes_of_another_length():
    with pytest.raises(ValueError, match=r"classes must have shape \(2,\)"):
        detection.non_max_suppression_per_class([[0, 0, 1, 1]] * 2, [0.5, 0.4], [0])


# ------------------------------------------------------- targets and decoding
def test_encode_targets_puts_box_in_the_centre_cell():
    # centre (30, 10) in a 64-pixel image with a 4x4 grid (16-pixel cells): row 0, column 1
    target = detection.encode_targets([[22, 4, 38, 16]], [2], grid_size=4, num_boxes=2,
                                      num_classes=3, image_size=64)
    assert target.shape == (4, 4, 2 * 5 + 3)
    np.testing.assert_allclose(target[0, 1, :5], [14 / 16, 10 / 16, 16 / 64, 12 / 64, 1])
    np.testing.assert_array_equal(target[0, 1, 5:], [0, 0, 0, 0, 0, 0, 0, 1])
    assert np.count_nonzero(target) == 6


def test_encode_targets_keeps_first_object_of_a_shared_cell():
    boxes = [[0, 0, 10, 10], [2, 2, 12, 12]]  # both centres in cell (0, 0) of a 2x2 grid
    target = detection.encode_targets(boxes, [0, 1], 2, 1, 2, 32)
    np.testing.assert_allclose(target[0, 0], [5 / 16, 5 / 16, 10 / 32, 10 / 32, 1, 1, 0])


def test_encode_targets_puts_a_centre_on_the_far_edge_in_the_last_cell():
    target = detection.encode_targets([[28, 28, 36, 36]], [0], 2, 1, 1, 32)  # centre (32, 32)
    np.testing.assert_allclose(target[1, 1, :5], [1, 1, 0.25, 0.25, 1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": [3]}, "labels must be 1 ints in"),
        ({"labels": [0, 1]}, "labels must be 1 ints in"),
        ({"grid_size": 0}, "grid_size must be a positive int"),
        ({"image_size": 32.5}, "image_size must be a positive int"),
        ({"boxes": [0, 0, 1, 1]}, r"boxes must have shape \(N, 4\)"),
    ],
)
def test_encode_targets_rejects_bad_arguments(kwargs, match):
    arguments = dict(boxes=[[0, 0, 8, 8]], labels=[0], grid_size=2, num_boxes=1, num_classes=3,
                     image_size=32) | kwargs
    with pytest.raises(ValueError, match=match):
        detection.encode_targets(**arguments)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_encode_then_decode_returns_the_boxes(data):
    grid_size, image_size = data.draw(st.sampled_from([(4, 64), (6, 96), (7, 448)]))
    cell = image_size // grid_size
    cell_index = st.integers(0, grid_size**2 - 1)
    cells = data.draw(st.lists(cell_index, min_size=1, max_size=6, unique=True))
    boxes = []
    for index in cells:  # one object per cell: a random centre inside it, a random size
        row, col = divmod(index, grid_size)
        x = (col + data.draw(st.floats(0.05, 0.95))) * cell
        y = (row + data.draw(st.floats(0.05, 0.95))) * cell
        w, h = data.draw(st.floats(2, image_size / 2)), data.draw(st.floats(2, image_size / 2))
        boxes.append([x, y, w, h])
    boxes = detection.xywh_to_corners(boxes)
    count = len(boxes)
    labels = np.array(data.draw(st.lists(st.integers(0, 2), min_size=count, max_size=count)))
    target = detection.encode_targets(boxes, labels, grid_size, 2, 3, image_size)
    decoded, scores, classes = detection.decode_predictions(target, 2, image_size, 0.5)
    order = np.argsort(cells)  # decode returns boxes in cell order
    np.testing.assert_allclose(decoded, boxes[order], atol=1e-9)
    np.testing.assert_array_equal(classes, labels[order])
    np.testing.assert_array_equal(scores, np.ones(len(boxes)))


def test_decode_scores_are_confidence_times_best_class_probability():
    output = np.zeros((1, 1, 2 * 5 + 3))
    output[0, 0, :10] = [0.5, 0.5, 0.5, 0.5, 0.8, 0.5, 0.5, 0.25, 0.25, 0.5]
    output[0, 0, 10:] = [0.1, 0.6, 0.3]
    boxes, scores, classes = detection.decode_predictions(output, num_boxes=2, image_size=10)
    np.testing.assert_allclose(scores, [0.8 * 0.6, 0.5 * 0.6])
    np.testing.assert_array_equal(classes, [1, 1])
    np.testing.assert_allclose(boxes, [[2.5, 2.5, 7.5, 7.5], [3.75, 3.75, 6.25, 6.25]])


def test_decode_rejects_output_without_class_channels():
    with pytest.raises(ValueError, match="output must have shape"):
        detection.decode_predictions(np.zeros((2, 2, 10)), num_boxes=2, image_size=32)


def test_postprocess_removes_duplicate_boxes_of_a_class():
    target = detection.encode_targets([[0, 0, 16, 16], [16, 16, 32, 32]], [0, 1], 2, 2, 2, 32)
    target[0, 0, 5:10] = target[0, 0, 0:5] * [1, 1, 1.1, 1.1, 0.7]  # a near-duplicate
    boxes, scores, classes = detection.postprocess(target, num_boxes=2, image_size=32)
    np.testing.assert_allclose(boxes, [[0, 0, 16, 16], [16, 16, 32, 32]])
    np.testing.assert_array_equal(classes, [0, 1])


# ---------------------------------------------------------------- YOLO loss
def _one_cell(pred_boxes, truth=(0.5, 0.5, 0.5, 0.5), true_class=(1.0, 0.0), pred_class=(1.0, 0.0)):
    """A 1x1 grid, B = len(pred_boxes), C = 2: return y_true, y_pred of shape (1, 1, 1, 5B + 2)."""
    num_boxes = len(pred_boxes)
    y_true = np.zeros((1, 1, 1, 5 * num_boxes + 2))
    y_true[..., :5] = [*truth, 1.0]
    y_true[..., 5 * num_boxes :] = true_class
    y_pred = np.concatenate([np.ravel(pred_boxes), pred_class]).reshape(y_true.shape)
    return y_true, y_pred


def _terms(y_true, y_pred, num_boxes, **kwargs):
    terms = detection.yolo_loss_terms(y_true, y_pred, num_boxes, **kwargs)
    return {name: float(np.asarray(value)[0]) for name, value in terms.items()}


def test_loss_is_zero_for_a_perfect_prediction():
    y_true, y_pred = _one_cell([[0.5, 0.5, 0.5, 0.5, 1.0]])
    assert _terms(y_true, y_pred, 1) == pytest.approx(
        {"coord": 0, "object": 0, "no_object": 0, "class": 0}, abs=1e-6
    )


def test_coord_term_uses_lambda_coord_and_square_roots():
    # x off by 0.1, w predicted 0.25 for 0.64: (0.1)^2 + (0.5 - 0.8)^2 = 0.1, times 5
    y_true, y_pred = _one_cell([[0.6, 0.5, 0.25, 0.5, 1.0]], truth=(0.5, 0.5, 0.64, 0.5))
    assert _terms(y_true, y_pred, 1)["coord"] == pytest.approx(5 * 0.1, abs=1e-5)


def test_object_term_targets_the_iou():
    # predicted box is half the truth's width, same centre: IoU 0.5; confidence 0.9
    y_true, y_pred = _one_cell([[0.5, 0.5, 0.25, 0.5, 0.9]])
    assert _terms(y_true, y_pred, 1)["object"] == pytest.approx((0.5 - 0.9) ** 2, abs=1e-5)


def test_only_the_best_overlapping_box_is_responsible():
    # box 1 matches the truth exactly; box 0 is off. Box 0's confidence counts as no-object.
    y_true, y_pred = _one_cell([[0.1, 0.1, 0.1, 0.1, 0.6], [0.5, 0.5, 0.5, 0.5, 1.0]])
    terms = _terms(y_true, y_pred, 2)
    assert terms["coord"] == pytest.approx(0, abs=1e-6)
    assert terms["object"] == pytest.approx(0, abs=1e-6)
    assert terms["no_object"] == pytest.approx(0.5 * 0.6**2, abs=1e-6)


def test_no_object_term_in_empty_cells_uses_lambda_noobj():
    y_true = np.zeros((1, 2, 2, 5 + 2))
    y_pred = np.zeros_like(y_true)
    y_pred[..., 4] = [[0.2, 0.4], [0.0, 1.0]]
    y_pred[..., 5:] = [0.3, 0.7]  # class probabilities are not scored where there is no object
    terms = _terms(y_true, y_pred, 1, lambda_noobj=0.5)
    assert terms["no_object"] == pytest.approx(0.5 * (0.04 + 0.16 + 1.0), abs=1e-6)
    assert terms["class"] == 0 and terms["coord"] == 0 and terms["object"] == 0


def test_class_term_is_squared_error_of_probabilities():
    y_true, y_pred = _one_cell([[0.5, 0.5, 0.5, 0.5, 1.0]], pred_class=(0.7, 0.3))
    assert _terms(y_true, y_pred, 1)["class"] == pytest.approx(0.09 + 0.09, abs=1e-6)


def test_yolo_loss_is_the_sum_of_its_terms_per_image():
    rng = np.random.default_rng(0)
    y_true = np.stack([detection.encode_targets([[0, 0, 10, 12]], [1], 3, 2, 3, 48)] * 2)
    y_pred = rng.uniform(0, 1, y_true.shape)
    terms = detection.yolo_loss_terms(y_true, y_pred, 2)
    total = detection.yolo_loss(y_true, y_pred, num_boxes=2)
    assert total.shape == (2,)
    np.testing.assert_allclose(total, sum(np.asarray(t) for t in terms.values()), rtol=1e-6)


@pytest.mark.parametrize("pred_shape", [(1, 2, 2, 12), (1, 3, 3, 13)])
def test_yolo_loss_rejects_mismatched_shapes(pred_shape):
    with pytest.raises(ValueError, match="y_true and y_pred must both have shape"):
        detection.yolo_loss(np.zeros((1, 2, 2, 13)), np.zeros(pred_shape), num_boxes=2)


def test_yolo_loss_rejects_output_without_class_channels():
    with pytest.raises(ValueError, match="C >= 1"):
        detection.yolo_loss(np.zeros((1, 2, 2, 10)), np.zeros((1, 2, 2, 10)), num_boxes=2)


def test_yolo_loss_gradient_is_finite_for_zero_width_predictions():
    y_true, y_pred = _one_cell([[0.5, 0.5, 0.0, 0.0, 0.5]])
    y_pred = tf.Variable(y_pred, dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = detection.yolo_loss(y_true, y_pred, num_boxes=1)
    assert np.all(np.isfinite(tape.gradient(loss, y_pred).numpy()))


# --------------------------------------------------------------------- mAP
def test_average_precision_all_point_interpolation_hand_case():
    # detections TP, FP, TP over 2 truths: recall .5 .5 1, precision 1 .5 .667
    assert detection.average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(
        0.5 * 1.0 + 0.5 * 2 / 3
    )


def test_average_precision_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="recall and precision"):
        detection.average_precision([0.5, 1.0], [1.0])


def _truth_and_detections():
    """Two images; class 0 has 3 true boxes, class 1 has 1."""
    truth = [
        ([[0, 0, 10, 10], [20, 20, 30, 30], [40, 0, 50, 10]], [0, 0, 1]),
        ([[0, 0, 10, 10]], [0]),
    ]
    found = [
        # score-ordered class 0: .9 TP, .8 duplicate of the same box (FP), .7 TP, .6 FP (no truth)
        ([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [60, 60, 70, 70], [40, 0, 50, 10]],
         [0.9, 0.8, 0.7, 0.6, 0.5], [0, 0, 0, 0, 1]),
        ([[0, 0, 10, 10]], [0.3], [0]),  # class 0: .3 TP
    ]
    return truth, found


def test_precision_recall_hand_case():
    truth, found = _truth_and_detections()
    precision, recall = detection.precision_recall(found, truth, label=0)
    np.testing.assert_allclose(precision, [1, 1 / 2, 2 / 3, 2 / 4, 3 / 5])
    np.testing.assert_allclose(recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])


def test_precision_recall_of_class_without_detections_is_empty():
    truth, found = _truth_and_detections()
    precision, recall = detection.precision_recall(found, truth, label=2)
    assert precision.shape == recall.shape == (0,)


def test_average_precision_per_class_hand_case():
    truth, found = _truth_and_detections()
    # class 0: TP FP TP FP TP over 3 truths
    # recall 1/3 1/3 2/3 2/3 1; precision 1 1/2 2/3 1/2 3/5
    # interpolated: 1 on [0, 1/3], 2/3 on [1/3, 2/3], 3/5 on [2/3, 1]
    expected_class0 = (1 + 2 / 3 + 3 / 5) / 3
    result = detection.average_precision_per_class(found, truth)
    assert result == pytest.approx({0: expected_class0, 1: 1.0})


def test_mean_average_precision_is_mean_over_classes():
    truth, found = _truth_and_detections()
    expected = ((1 + 2 / 3 + 3 / 5) / 3 + 1.0) / 2
    assert detection.mean_average_precision(found, truth) == pytest.approx(expected)


def test_map_ignores_classes_without_truth():
    truth = [([[0, 0, 10, 10]], [0])]
    found = [([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.95], [0, 2])]
    assert detection.mean_average_precision(found, truth) == 1.0


def test_map_of_perfect_detections_is_one_at_every_threshold():
    truth, _ = _truth_and_detections()
    found = [(boxes, np.ones(len(labels)), labels) for boxes, labels in truth]
    assert detection.mean_average_precision_coco(found, truth) == pytest.approx(1.0)


def test_map_is_zero_without_detections():
    truth, _ = _truth_and_detections()
    found = [(np.zeros((0, 4)), [], []), (np.zeros((0, 4)), [], [])]
    assert detection.mean_average_precision(found, truth) == 0.0


def test_map_counts_a_box_below_the_iou_threshold_as_false_positive():
    truth = [([[0, 0, 10, 10]], [0])]
    found = [([[0, 0, 10, 6]], [0.9], [0])]  # IoU 0.6
    assert detection.mean_average_precision(found, truth, iou_threshold=0.5) == 1.0
    assert detection.mean_average_precision(found, truth, iou_threshold=0.7) == 0.0


def test_map_rejects_mismatched_image_counts():
    with pytest.raises(ValueError, match="one entry per image"):
        detection.mean_average_precision([], [([[0, 0, 1, 1]], [0])])


def test_map_rejects_threshold_outside_unit_interval():
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0, 1\]"):
        detection.mean_average_precision([], [], iou_threshold=50)


# ------------------------------------------------------------------ drawing
def test_draw_boxes_labels_each_box_with_class_and_score():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    detection.draw_boxes(ax, [[0, 0, 5, 5], [2, 2, 9, 9]], classes=[0, 2], scores=[0.5, 0.25],
                         class_names=["ellipse", "rectangle", "triangle"])
    assert [t.get_text() for t in ax.texts] == ["ellipse 0.50", "triangle 0.25"]
    assert [p.get_width() for p in ax.patches] == [5, 7]
    plt.close(fig)
