"""Training a convnet on colour images: the classic CIFAR-10 network, augmentation, shifted and rotated test images.

Chapter 3 builds these; chapters 4, 5 and 7 reuse them with the same data set
(:func:`cnnbook.data.shapes_splits`):

- :func:`classic_convnet`: the small CIFAR-10 network of the course this book
  follows, ``[conv + pool] x 3`` then ``[dense] x 2``, with optional dropout and
  batch normalisation;
- :func:`augmentation`: Keras preprocessing layers that shift, rotate, zoom and
  flip images during training and are the identity at inference;
- :func:`shift_images`, :func:`rotate_images`: move test images by a known amount,
  to measure how accuracy falls as they move (invariance);
- :func:`load_classic_convnet`: the network trained by
  ``python -m cnnbook.train_classifier``, with its record;
- :func:`load_small_runs`: the learning curves of chapter 3's small-set and batch
  normalisation comparisons, recorded by the same script (``--only small``);
- :func:`load_invariance_runs`: how networks trained with and without augmentation
  score on moved, shifted and turned test images, recorded by the same script
  (``--only invariance``).
"""

import json
import pathlib

import numpy as np

WEIGHTS_DIR = pathlib.Path(__file__).parent / "weights"


def classic_convnet(dropout=True, batch_norm=False, image_size=32, num_classes=10):
    """Build the classic CIFAR-10 convnet: Conv2D 16/32/64 (2x2, same) each with max pooling, then Dense 500.

    The layers are those of the Udacity course's CIFAR-10 network that this
    book's chapter 3 follows: three blocks of a 2x2 "same" convolution with ReLU
    and a 2x2 max pooling (16, 32, 64 filters), Dropout 0.3, Flatten, Dense 500
    with ReLU, Dropout 0.4 and a softmax over the classes. The input is scaled
    from [0, 255] to [0, 1] by the model's first layer (``Rescaling(1/255)``), so
    it takes the uint8 images of :func:`cnnbook.data.make_shapes` as they are.

    Parameters
    ----------
    dropout : bool, default True
        Keep the two dropout layers (False builds the same network without them).
    batch_norm : bool, default False
        Put a ``BatchNormalization`` between each convolution and its ReLU (the
        convolutions then have no bias: the normalisation's shift replaces it).
    image_size : int, default 32
        Side of the square RGB input images.
    num_classes : int, default 10
        Outputs of the softmax.

    Returns
    -------
    keras.Sequential
        An untrained, built model; its input is (image_size, image_size, 3).

    Raises
    ------
    ValueError
        If ``image_size`` or ``num_classes`` is not a positive int.

    Examples
    --------
    >>> model = classic_convnet()
    >>> model.output_shape, model.count_params()
    ((None, 10), 528054)
    >>> [layer.name for layer in classic_convnet(dropout=False).layers][:3]
    ['rescaling', 'conv1', 'pool1']
    """
    import keras
    from keras import layers

    for value, name in [(image_size, "image_size"), (num_classes, "num_classes")]:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    stack = [keras.Input((image_size, image_size, 3)), layers.Rescaling(1 / 255, name="rescaling")]
    for number, filters in enumerate([16, 32, 64], start=1):
        if batch_norm:
            stack += [layers.Conv2D(filters, 2, padding="same", use_bias=False, name=f"conv{number}"),
                      layers.BatchNormalization(name=f"norm{number}"),
                      layers.ReLU(name=f"relu{number}")]
        else:
            stack.append(layers.Conv2D(filters, 2, padding="same", activation="relu",
                                       name=f"conv{number}"))
        stack.append(layers.MaxPooling2D(2, name=f"pool{number}"))
    stack += [layers.Dropout(0.3, name="dropout1")] if dropout else []
    stack += [layers.Flatten(name="flatten"), layers.Dense(500, activation="relu", name="dense")]
    stack += [layers.Dropout(0.4, name="dropout2")] if dropout else []
    stack.append(layers.Dense(num_classes, activation="softmax", name="softmax"))
    return keras.Sequential(stack, name="classic_convnet")


def augmentation(shift=0.1, rotation=0.5, zoom=0.1, flip="horizontal_and_vertical", seed=None,
                 fill_mode="nearest"):
    """Return Keras preprocessing layers that move each training image at random.

    In order: ``RandomFlip(flip)``, ``RandomTranslation(shift, shift)``,
    ``RandomRotation(rotation)`` and ``RandomZoom(zoom)``, with the edge pixels
    repeated into the uncovered border (``fill_mode="nearest"``). With the
    defaults each image is mirrored or not along each axis, shifted by up to
    10 % of its size along each axis, turned by up to 180 degrees either way
    about the image's centre (which also moves an object that is not at the
    centre, and can push part of it out of the frame) and zoomed in or out by
    up to 10 %. A factor of 0 leaves its layer out. Like every
    Keras preprocessing layer they act only when called with ``training=True``
    (inside ``fit``); at inference (``predict``, ``evaluate``, or a call with
    ``training=False``) they return their input unchanged.

    Parameters
    ----------
    shift : float, default 0.1
        Largest shift, as a fraction of the height and of the width.
    rotation : float, default 0.5
        Largest rotation, as a fraction of a full turn (0.5: up to 180 degrees
        either way).
    zoom : float, default 0.1
        Largest zoom in or out, as a fraction of the size.
    flip : {"horizontal", "vertical", "horizontal_and_vertical"} or None
        Which mirror images to draw; None for no flips.
    seed : int, optional
        Seed of the layers' random draws.
    fill_mode : {"nearest", "reflect", "wrap", "constant"}, default "nearest"
        How the translation, rotation and zoom fill the pixels they uncover.

    Returns
    -------
    keras.Sequential
        The layers, without an input shape: it accepts any image size.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    >>> layers = augmentation(seed=0)
    >>> bool(np.array_equal(layers(images, training=False), images))
    True
    >>> bool(np.array_equal(layers(images, training=True), images))
    False
    >>> [type(layer).__name__ for layer in augmentation(rotation=0, zoom=0, flip=None).layers]
    ['RandomTranslation']
    """
    import keras
    from keras import layers

    stack = [layers.RandomFlip(flip, seed=seed)] if flip else []
    if shift:
        stack.append(layers.RandomTranslation(shift, shift, fill_mode=fill_mode, seed=seed))
    if rotation:
        stack.append(layers.RandomRotation(rotation, fill_mode=fill_mode, seed=seed))
    if zoom:
        stack.append(layers.RandomZoom(zoom, fill_mode=fill_mode, seed=seed))
    return keras.Sequential(stack, name="augmentation")


def shift_images(images, rows, cols):
    """Shift images by whole pixels, repeating the edge pixels into the uncovered border.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C)
        The images (any dtype).
    rows, cols : int
        Pixels to move down and right (negative: up and left); at most H and W.

    Returns
    -------
    ndarray, shape (N, H, W, C)
        The shifted images, same dtype.

    Raises
    ------
    ValueError
        If ``images`` is not 4-d or a shift is not an int within the image.

    Examples
    --------
    >>> image = np.arange(4).reshape(1, 1, 4, 1)
    >>> shift_images(image, 0, 1)[0, 0, :, 0]
    array([0, 0, 1, 2])
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}")
    height, width = images.shape[1:3]
    for value, name, size in [(rows, "rows", height), (cols, "cols", width)]:
        if not isinstance(value, (int, np.integer)) or abs(value) > size:
            raise ValueError(f"{name} must be an int between -{size} and {size}, got {value!r}")
    padded = np.pad(images, [(0, 0), (abs(rows),) * 2, (abs(cols),) * 2, (0, 0)], mode="edge")
    top, left = abs(rows) - rows, abs(cols) - cols
    return padded[:, top : top + height, left : left + width]


def rotate_images(images, degrees):
    """Rotate images about their centre, counter-clockwise, repeating edge pixels into the corners.

    Bilinear interpolation (``scipy.ndimage.rotate``, order 1, ``mode="nearest"``);
    the size is kept.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C)
    degrees : float
        Angle of rotation.

    Returns
    -------
    ndarray, shape (N, H, W, C)
        Same dtype as ``images``.

    Raises
    ------
    ValueError
        If ``images`` is not 4-d.

    Examples
    --------
    >>> image = np.zeros((1, 3, 3, 1)); image[0, 0, 1, 0] = 1  # top middle
    >>> rotate_images(image, 90)[0, :, :, 0]
    array([[0., 0., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    from scipy import ndimage

    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}")
    rotated = ndimage.rotate(images.astype(np.float32), degrees, axes=(2, 1), reshape=False,
                             order=1, mode="nearest")
    if np.issubdtype(images.dtype, np.integer):
        info = np.iinfo(images.dtype)
        rotated = np.clip(np.rint(rotated), info.min, info.max)
    return rotated.astype(images.dtype)


def load_classic_convnet(name="classic_convnet"):
    """Load a network trained by ``python -m cnnbook.train_classifier``, with its record.

    Parameters
    ----------
    name : {"classic_convnet", "classic_convnet_augmented"}
        Which of the shipped networks: trained without or with :func:`augmentation`.

    Returns
    -------
    model : keras.Sequential
        :func:`classic_convnet` with the trained weights.
    record : dict
        How it was trained (command, settings, seed, versions, CPU time, accuracies).

    Raises
    ------
    ValueError
        If no such network ships with the course.
    """
    weights, record = WEIGHTS_DIR / f"{name}.weights.h5", WEIGHTS_DIR / f"{name}.json"
    if not weights.exists() or not record.exists():
        raise ValueError(f"no trained network {name!r} in {WEIGHTS_DIR}: "
                         "run python -m cnnbook.train_classifier")
    model = classic_convnet()
    model.load_weights(weights)
    return model, json.loads(record.read_text())


def load_small_runs():
    """Load the record of chapter 3's small-set runs, written by ``python -m cnnbook.train_classifier --only small``.

    Returns
    -------
    dict
        ``settings`` (``seeds``: the seeds of every small-set run,
        ``batch_norm_seeds``: those of the batch normalisation runs); ``runs``:
        for "no dropout, no augmentation", "dropout", "augmentation" and
        "dropout and augmentation", a list with one record per seed, in the order
        of ``settings["seeds"]``: the ``seed``, the Keras ``history`` (loss,
        accuracy, val_loss, val_accuracy per epoch), the ``best_epoch``, and the
        accuracy of the best and of the last epoch on the training, validation
        and test images (``best_epoch_accuracy``, ``last_epoch_accuracy``);
        ``batch_norm``: for the network "without batch normalisation" and "with
        batch normalisation", a list with one record per seed of
        ``settings["batch_norm_seeds"]``: the loss of every batch
        (``batch_losses``) and the mean loss of every epoch (``epoch_losses``);
        the command, versions, numerics and times of the run.

    Raises
    ------
    ValueError
        If the record is missing.

    Examples
    --------
    >>> record = load_small_runs()
    >>> first = record["runs"]["dropout"][0]
    >>> first["seed"] == record["settings"]["seeds"][0]
    True
    >>> len(first["history"]["val_accuracy"]) == record["settings"]["epochs"]
    True
    """
    return _load_record("small_runs.json", "--only small")


def load_invariance_runs():
    """Load the record of chapter 3's invariance comparison, written by ``python -m cnnbook.train_classifier --only invariance``.

    Returns
    -------
    dict
        ``settings`` (those of the shipped networks, plus ``seeds``, ``moves``:
        the shifts m, each object moved m pixels down and m right, and ``turns``:
        the angles in degrees); ``cut``: for each move, how many of the test
        objects it pushes partly out of the frame; ``visible_fraction_of_cut``:
        the mean fraction of those objects' pixels still in the frame; ``runs``:
        for each augmentation (``"none"`` and the chapter's), a list with one
        record per seed: the ``augmentation`` (arguments of :func:`augmentation`,
        None for none), ``seed``, ``history``, ``best_epoch``, ``test_accuracy``
        (unmoved test images), ``moved`` and ``edge_filled`` (dicts of lists, one
        accuracy per move: ``all`` images, those whose object stays ``inside``
        the frame and those whose object is ``cut``, None when there are none),
        ``turned`` (one accuracy per angle), ``right`` (which test images it
        got right: for ``moved`` and ``edge_filled`` one bool array of shape
        (num_test,) per move, for ``turned`` one per angle; stored as packed
        bits, unpacked here), CPU and wall seconds.

    Raises
    ------
    ValueError
        If the record is missing.

    Examples
    --------
    >>> record = load_invariance_runs()
    >>> run = record["runs"]["none"][0]
    >>> len(run["moved"]["all"]) == len(record["settings"]["moves"]) == len(record["cut"])
    True
    >>> run["moved"]["all"][0] == run["test_accuracy"]  # moved by 0: the test images as they are
    True
    >>> right = run["right"]["moved"][0]
    >>> right.dtype, right.shape == (record["settings"]["num_test"],), float(right.mean()) == run["test_accuracy"]
    (dtype('bool'), True, True)
    """
    record = _load_record("invariance_runs.json", "--only invariance")
    count = record["settings"]["num_test"]
    for runs in record["runs"].values():
        for run in runs:
            run["right"] = {kind: [np.unpackbits(np.frombuffer(bytes.fromhex(bits), np.uint8))[:count].astype(bool)
                                   for bits in packed] for kind, packed in run["right"].items()}
    return record


def _load_record(name, option):
    path = WEIGHTS_DIR / name
    if not path.exists():
        raise ValueError(f"no record {path.name} in {WEIGHTS_DIR}: "
                         f"run python -m cnnbook.train_classifier {option}")
    return json.loads(path.read_text())
