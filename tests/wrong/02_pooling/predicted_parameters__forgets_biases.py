# cell: predicted_parameters
# wrong: counts the weights but no biases
def predicted_parameters():
    """Return the parameter count of every layer of the network above, by name.

    Returns
    -------
    dict
        {"conv1": int, "pool1": int, "conv2": int, "pool2": int, "flatten": int,
         "dense": int, "logits": int}
    """
    return {
        "conv1": 5 * 5 * 3 * 16,
        "pool1": 0,
        "conv2": 3 * 3 * 16 * 32,
        "pool2": 0,
        "flatten": 0,
        "dense": 6 * 6 * 32 * 100,
        "logits": 100 * 10,
    }
