# cell: encode_box
# wrong: indexes the target [column, row] instead of [row, column]
def encode_box(box, label, grid_size, num_boxes, num_classes, image_size):
    """Write one true box into a YOLOv1 target tensor of zeros.

    Parameters
    ----------
    box : ndarray, shape (4,)
        The box in corners form (x1, y1, x2, y2), in pixels.
    label : int
        Its class, in [0, num_classes).
    grid_size : int
        S, cells per side of the grid.
    num_boxes : int
        B, boxes per cell.
    num_classes : int
        C, the number of classes.
    image_size : int
        Side of the square image in pixels.

    Returns
    -------
    target : ndarray, shape (grid_size, grid_size, num_boxes * 5 + num_classes)
        Zeros, except in the cell that holds the box's centre: its first box slot is
        (x, y, w, h, 1) and its class probabilities are one-hot.
    """
    x1, y1, x2, y2 = np.asarray(box, dtype=float)
    cell = image_size / grid_size
    centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
    col = min(int(centre_x // cell), grid_size - 1)
    row = min(int(centre_y // cell), grid_size - 1)
    target = np.zeros((grid_size, grid_size, num_boxes * 5 + num_classes))
    target[col, row, 0:5] = [centre_x / cell - col, centre_y / cell - row,
                             (x2 - x1) / image_size, (y2 - y1) / image_size, 1.0]
    target[col, row, num_boxes * 5 + label] = 1.0
    return target
