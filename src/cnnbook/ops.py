"""Convolution in NumPy: padding, output sizes, parameter counts and the forward pass.

Every function works on batches laid out as TensorFlow lays them out,
``(N, H, W, C)`` for images and ``(kh, kw, C, K)`` for kernels, so that results
can be compared with :func:`tf.nn.conv2d` directly.

Deep-learning "convolution" is cross-correlation: the kernel is *not* flipped.
"""

import math

import numpy as np

PADDING_WORDS = ("valid", "same")


def _pair(value, name):
    """Return ``value`` as a pair of positive ints (an int applies to both axes)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{name} must be an int or a pair of ints (rows, columns), got {value!r}")
    if min(pair) <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return pair


def _check_padding(padding):
    """Return ``padding`` as a lower-case word or a non-negative int, or raise ValueError."""
    if isinstance(padding, str):
        if padding.lower() not in PADDING_WORDS:
            raise ValueError(
                f"padding must be 'valid', 'same' or a non-negative int, got {padding!r}"
            )
        return padding.lower()
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        return int(padding)
    raise ValueError(f"padding must be 'valid', 'same' or a non-negative int, got {padding!r}")


def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    """Return the length of a convolution's output along one axis.

    Parameters
    ----------
    n : int
        Input length (height or width).
    kernel_size : int
        Kernel length ``f`` along the same axis.
    stride : int, default 1
        Step ``s`` between two windows.
    padding : {"valid", "same"} or int, default "valid"
        ``"valid"`` (no padding): ``ceil((n - f + 1) / s)``;
        ``"same"`` (TensorFlow's rule): ``ceil(n / s)``;
        an int ``P`` (``P`` zeros on each side): ``floor((n - f + 2P) / s) + 1``.

    Returns
    -------
    int

    Examples
    --------
    >>> conv_output_size(32, 8, stride=2, padding=1)
    14
    >>> conv_output_size(32, 8, stride=2, padding="same")
    16
    >>> conv_output_size(32, 8, stride=2, padding="valid")
    13
    """
    (n,) = _pair(n, "n")[:1]
    (f,) = _pair(kernel_size, "kernel_size")[:1]
    (s,) = _pair(stride, "stride")[:1]
    padding = _check_padding(padding)
    if padding == "same":
        return math.ceil(n / s)
    pad = 0 if padding == "valid" else padding
    if f > n + 2 * pad:
        raise ValueError(
            f"kernel_size {f} is larger than the padded input ({n} + 2*{pad} = {n + 2 * pad})"
        )
    return (n - f + 2 * pad) // s + 1


def same_padding(n, kernel_size, stride=1):
    """Return TensorFlow's "same" padding ``(before, after)`` along one axis.

    The total is ``max((ceil(n/s) - 1)*s + f - n, 0)``; when it is odd, the extra
    zero goes *after* (bottom or right).

    Examples
    --------
    >>> same_padding(4, 2, stride=1)
    (0, 1)
    >>> same_padding(5, 3, stride=2)
    (1, 1)
    """
    out = math.ceil(n / stride)
    total = max((out - 1) * stride + kernel_size - n, 0)
    return total // 2, total - total // 2


def zero_pad(x, pad):
    """Pad the height and width of a batch of images with zeros.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
        Batch of images.
    pad : int or ((top, bottom), (left, right))
        Zeros added on each side of H and W; channels and batch are never padded.

    Returns
    -------
    ndarray, shape (N, H + top + bottom, W + left + right, C)

    Examples
    --------
    >>> zero_pad(np.ones((1, 2, 2, 1)), 1)[0, :, :, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 0.]])
    """
    x = _check_4d(x, "x")
    if isinstance(pad, (int, np.integer)) and not isinstance(pad, bool):
        if pad < 0:
            raise ValueError(f"pad must be non-negative, got {pad}")
        (top, bottom), (left, right) = (pad, pad), (pad, pad)
    else:
        try:
            (top, bottom), (left, right) = pad
        except (TypeError, ValueError):
            raise ValueError(
                f"pad must be an int or ((top, bottom), (left, right)), got {pad!r}"
            ) from None
        if min(top, bottom, left, right) < 0:
            raise ValueError(f"pad must be non-negative, got {pad!r}")
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), mode="constant")


def _check_4d(x, name):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"{name} must be a 4-D array of shape (N, H, W, C), got {x.ndim}-D shape {x.shape}"
        )
    return x


def _pad_for(x_shape, kernel_hw, strides, padding):
    """Return ((top, bottom), (left, right)) for a padding word or int."""
    padding = _check_padding(padding)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return tuple(
            same_padding(n, f, s) for n, f, s in zip(x_shape[1:3], kernel_hw, strides)
        )
    return (padding, padding), (padding, padding)


def _check_conv_args(x, w, b, stride, padding):
    x = _check_4d(x, "x")
    w = np.asarray(w)
    if w.ndim != 4:
        raise ValueError(
            f"w must be a 4-D array of shape (kh, kw, C, K), got {w.ndim}-D shape {w.shape}"
        )
    if x.shape[3] != w.shape[2]:
        raise ValueError(
            f"channels differ: x has {x.shape[3]} (its last axis) but w expects "
            f"{w.shape[2]} (its third axis)"
        )
    if b is not None:
        b = np.asarray(b)
        if b.shape != (w.shape[3],):
            raise ValueError(f"b must have shape ({w.shape[3]},), one per filter, got {b.shape}")
    strides = _pair(stride, "stride")
    pads = _pad_for(x.shape, w.shape[:2], strides, padding)
    for axis, (name, (before, after)) in enumerate(zip(("height", "width"), pads)):
        padded = x.shape[1 + axis] + before + after
        if w.shape[axis] > padded:
            raise ValueError(
                f"kernel {name} {w.shape[axis]} is larger than the padded input {name} {padded}"
            )
    return x, w, b, strides, pads


def conv2d(x, w, b=None, stride=1, padding="valid"):
    """Cross-correlate a batch of images with a bank of kernels (vectorised).

    Gathers every receptive field into one row of a matrix ("im2col") and
    multiplies it by the kernels reshaped into columns: one matrix product, no
    Python loop over output pixels.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
        Batch of images.
    w : ndarray, shape (kh, kw, C, K)
        ``K`` kernels of size ``kh x kw`` over ``C`` channels.
    b : ndarray, shape (K,), optional
        One bias per kernel.
    stride : int or (int, int), default 1
        Step between windows, rows then columns.
    padding : {"valid", "same"} or int, default "valid"
        As in :func:`conv_output_size`; ``"same"`` matches TensorFlow, putting the
        odd zero at the bottom/right.

    Returns
    -------
    ndarray, shape (N, H_out, W_out, K)

    Raises
    ------
    ValueError
        If an array is not 4-D, the channels of ``x`` and ``w`` differ, the stride
        is not positive, the padding is unknown or the kernel is larger than the
        padded input.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> w = np.ones((2, 2, 1, 1))
    >>> conv2d(x, w, stride=2)[0, :, :, 0]
    array([[10., 18.],
           [42., 50.]])
    """
    x, w, b, (sh, sw), pads = _check_conv_args(x, w, b, stride, padding)
    kh, kw, channels, filters = w.shape
    xp = np.pad(x, ((0, 0), *pads, (0, 0)), mode="constant")
    # windows: a (N, H_out, W_out, C, kh, kw) view of xp, strided; each window is then
    # copied into one row ordered (kh, kw, C), so channels stay contiguous, as in w
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))
    windows = windows[:, ::sh, ::sw]
    n, out_h, out_w = windows.shape[:3]
    cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * out_h * out_w, kh * kw * channels)
    out = cols @ w.reshape(kh * kw * channels, filters)
    if b is not None:
        out = out + b
    return out.reshape(n, out_h, out_w, filters)


def conv2d_naive(x, w, b=None, stride=1, padding="valid"):
    """Cross-correlate like :func:`conv2d`, with one explicit loop per output pixel.

    Slow and meant to be read: for every image, output row, output column and
    filter, take the window under the kernel, multiply element-wise, sum, add
    the bias.

    Parameters
    ----------
    x, w, b, stride, padding
        As in :func:`conv2d`.

    Returns
    -------
    ndarray, shape (N, H_out, W_out, K)

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> conv2d_naive(x, np.ones((2, 2, 1, 1)), stride=2)[0, :, :, 0]
    array([[10., 18.],
           [42., 50.]])
    """
    x, w, b, (sh, sw), pads = _check_conv_args(x, w, b, stride, padding)
    kh, kw, _, filters = w.shape
    xp = np.pad(x, ((0, 0), *pads, (0, 0)), mode="constant")
    out_h = (xp.shape[1] - kh) // sh + 1
    out_w = (xp.shape[2] - kw) // sw + 1
    out = np.zeros((x.shape[0], out_h, out_w, filters), dtype=np.result_type(x, w, float))
    for i in range(x.shape[0]):
        for row in range(out_h):
            for col in range(out_w):
                window = xp[i, row * sh : row * sh + kh, col * sw : col * sw + kw, :]
                for k in range(filters):
                    out[i, row, col, k] = np.sum(window * w[:, :, :, k])
                    if b is not None:
                        out[i, row, col, k] += b[k]
    return out


def conv_params(kernel_size, in_channels, filters, bias=True, shared=True, output_hw=None):
    """Count the learnable parameters of a convolutional layer.

    With weight sharing every output position reuses the same ``filters`` kernels:
    ``(f*f*C + 1) * K`` parameters (drop the ``+ 1`` without bias). Without sharing
    (a "locally connected" layer) each of the ``H_out * W_out`` positions has its
    own, so the count is multiplied by ``H_out * W_out``.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Kernel height and width.
    in_channels : int
        Channels ``C`` of the input.
    filters : int
        Number of kernels ``K``.
    bias : bool, default True
        Whether each kernel has a bias.
    shared : bool, default True
        Whether the weights are shared across positions.
    output_hw : (int, int), optional
        Output height and width; required when ``shared=False``.

    Returns
    -------
    int

    Examples
    --------
    >>> conv_params(8, 3, 20)
    3860
    >>> conv_params(8, 3, 20, shared=False, output_hw=(14, 14))
    756560
    """
    kh, kw = _pair(kernel_size, "kernel_size")
    (in_channels,) = _pair(in_channels, "in_channels")[:1]
    (filters,) = _pair(filters, "filters")[:1]
    per_position = (kh * kw * in_channels + int(bool(bias))) * filters
    if shared:
        return per_position
    if output_hw is None:
        raise ValueError("output_hw=(H_out, W_out) is required when shared=False")
    out_h, out_w = _pair(output_hw, "output_hw")
    return per_position * out_h * out_w


POOL_MODES = ("max", "avg")


def pool2d(x, pool_size=2, stride=None, padding="valid", mode="max"):
    """Max- or average-pool a batch of feature maps, channel by channel (vectorised).

    Each ``pool_size`` window of each channel is replaced by its maximum
    (``mode="max"``) or its mean (``mode="avg"``); there are no weights. The
    windows are a strided view of the (padded) input, reduced in one call.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
        Batch of feature maps.
    pool_size : int or (int, int), default 2
        Window height and width.
    stride : int or (int, int), optional
        Step between windows; defaults to ``pool_size`` (windows that tile the
        input without overlap).
    padding : {"valid", "same"}, default "valid"
        ``"valid"`` drops windows that would leave the input; ``"same"`` follows
        TensorFlow: output size ``ceil(H / stride)``, odd extra row/column at the
        bottom/right, and padded cells never win a max nor count in a mean.
    mode : {"max", "avg"}, default "max"
        Reduction applied to each window.

    Returns
    -------
    ndarray, shape (N, H_out, W_out, C)
        Floating point (integer inputs are converted to float).

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, ``pool_size`` or ``stride`` is not positive,
        ``padding`` or ``mode`` is unknown, or the window is larger than the
        padded input.

    Examples
    --------
    >>> x = np.array([[1, 1, 2, 4],
    ...               [5, 6, 7, 8],
    ...               [3, 2, 1, 0],
    ...               [1, 2, 3, 4]]).reshape(1, 4, 4, 1)
    >>> pool2d(x, 2)[0, :, :, 0]
    array([[6., 8.],
           [3., 4.]])
    >>> pool2d(x, 2, mode="avg")[0, :, :, 0]
    array([[3.25, 5.25],
           [2.  , 2.  ]])
    """
    x = _check_4d(x, "x")
    window = _pair(pool_size, "pool_size")
    strides = _pair(pool_size if stride is None else stride, "stride")
    padding = _check_padding(padding)
    if not isinstance(padding, str):
        raise ValueError(f"padding must be 'valid' or 'same' for pooling, got {padding!r}")
    if mode not in POOL_MODES:
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    pads = _pad_for(x.shape, window, strides, padding)
    for axis, name in ((0, "height"), (1, "width")):
        padded = x.shape[1 + axis] + sum(pads[axis])
        if window[axis] > padded:
            raise ValueError(
                f"pool_size {name} {window[axis]} is larger than the padded input {name} {padded}"
            )
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(float)
    (sh, sw), spec = strides, ((0, 0), *pads, (0, 0))

    def windows(array):  # (N, H_out, W_out, C, ph, pw) view
        view = np.lib.stride_tricks.sliding_window_view(array, window, axis=(1, 2))
        return view[:, ::sh, ::sw]

    if mode == "max":
        return windows(np.pad(x, spec, constant_values=-np.inf)).max(axis=(4, 5))
    totals = windows(np.pad(x, spec)).sum(axis=(4, 5))
    counts = windows(np.pad(np.ones((1, *x.shape[1:3], 1), x.dtype), spec)).sum(axis=(4, 5))
    return totals / counts


def global_average_pool(x):
    """Average each feature map over all its positions: one number per channel.

    Keras' ``GlobalAveragePooling2D``: it replaces ``Flatten`` before the
    classifier, with no weights and an output that does not depend on H and W.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
        Batch of feature maps.

    Returns
    -------
    ndarray, shape (N, C)

    Raises
    ------
    ValueError
        If ``x`` is not 4-D.

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> global_average_pool(x)
    array([[3., 4.]])
    """
    return _check_4d(x, "x").mean(axis=(1, 2))


def conv_multiply_adds(output_hw, kernel_size, in_channels, filters):
    """Count the multiply-adds of one convolutional layer's forward pass.

    Each of the ``H_out * W_out * K`` outputs is a dot product of ``f*f*C``
    weights with a window: ``H_out * W_out * f * f * C * K`` multiply-adds (the
    bias adds are not counted).

    Parameters
    ----------
    output_hw : (int, int)
        Output height and width.
    kernel_size : int or (int, int)
        Kernel height and width.
    in_channels : int
        Channels ``C`` of the input.
    filters : int
        Number of kernels ``K``.

    Returns
    -------
    int

    Examples
    --------
    >>> conv_multiply_adds((26, 26), 3, 32, 64)
    12460032
    """
    out_h, out_w = _pair(output_hw, "output_hw")
    kh, kw = _pair(kernel_size, "kernel_size")
    (in_channels,) = _pair(in_channels, "in_channels")[:1]
    (filters,) = _pair(filters, "filters")[:1]
    return out_h * out_w * kh * kw * in_channels * filters
