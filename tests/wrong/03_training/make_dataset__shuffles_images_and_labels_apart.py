# cell: make_dataset
# wrong: shuffles the images and the labels separately, so labels leave their images
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
    if not training:
        return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    x = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images))
    y = tf.data.Dataset.from_tensor_slices(labels).shuffle(len(labels))
    dataset = tf.data.Dataset.zip((x, y)).batch(batch_size)
    return dataset.map(lambda x, y: (augmentation(x, training=True), y)).prefetch(tf.data.AUTOTUNE)
