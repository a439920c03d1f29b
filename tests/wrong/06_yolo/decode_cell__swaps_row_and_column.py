# cell: decode_cell
# wrong: adds the row to x and the column to y
def decode_cell(cell_vector, row, col, grid_size, num_boxes, image_size):
    """Turn one grid cell's prediction into boxes in pixels, scores and a class.

    Parameters
    ----------
    cell_vector : ndarray, shape (num_boxes * 5 + C,)
        The network's output for cell (row, col).
    row, col : int
        The cell's row (counted down) and column (counted to the right).
    grid_size : int
        S, cells per side of the grid.
    num_boxes : int
        B, boxes per cell.
    image_size : int
        Side of the square image in pixels.

    Returns
    -------
    boxes : ndarray, shape (num_boxes, 4)
        The cell's boxes in corners form, in pixels.
    scores : ndarray, shape (num_boxes,)
        Confidence times the highest class probability.
    class_id : int
        The class with the highest probability.
    """
    cell_vector = np.asarray(cell_vector, dtype=float)
    cell = image_size / grid_size
    predicted = cell_vector[: num_boxes * 5].reshape(num_boxes, 5)
    class_probs = cell_vector[num_boxes * 5 :]
    centre_x = (row + predicted[:, 0]) * cell
    centre_y = (col + predicted[:, 1]) * cell
    width = predicted[:, 2] * image_size
    height = predicted[:, 3] * image_size
    boxes = xywh_to_corners(np.stack([centre_x, centre_y, width, height], axis=1))
    return boxes, predicted[:, 4] * class_probs.max(), int(np.argmax(class_probs))
