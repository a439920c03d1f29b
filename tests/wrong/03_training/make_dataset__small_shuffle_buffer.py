# cell: make_dataset
# wrong: shuffles with a buffer of 10 examples, so each batch still comes from near the start of the data
def make_dataset(images, labels, augmentation, training, batch_size=64):
    """Return a tf.data pipeline of (images, labels) batches, augmented and shuffled only in training.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 3)
    labels : ndarray, shape (N,)
    augmentation : keras layer or model
        Applied to each batch of images in training.
    training : bool
        True for training data, False for validation or test data.
    batch_size : int, default 64

    Returns
    -------
    tf.data.Dataset
        Batches (images of shape (b, H, W, 3), labels of shape (b,)).
    """
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if training:
        dataset = dataset.shuffle(10).batch(batch_size).map(
            lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.batch(batch_size)
    return dataset.prefetch(tf.data.AUTOTUNE)
