# cell: predicted_parameters
# wrong: gives conv2's filters the image's 3 channels, and flattens before pooling
def predicted_parameters():
    """Return the parameter count of every layer of the network above, by name.

    Returns
    -------
    dict
        {"conv1": int, "pool1": int, "conv2": int, "pool2": int, "flatten": int,
         "dense": int, "logits": int}
    """
    return {
        "conv1": 5 * 5 * 3 * 16 + 16,
        "pool1": 0,
        "conv2": 3 * 3 * 3 * 32 + 32,
        "pool2": 0,
        "flatten": 0,
        "dense": (12 * 12 * 32 + 1) * 100,
        "logits": (100 + 1) * 10,
    }
