"""``ai.onnx.ml`` ops (scikit-learn style models), costed where the arithmetic is plain.

Linear models are dense products: mac = N · F · R, R rows of coefficients
(classes or targets), with their intercepts as bias adds; an SVM evaluates its
kernel against every support vector (mac = N · V · F) and then weighs the
kernel values (mac = N · V · R). Per-feature transforms cost ``elementwise_op``
per element. Map, dictionary and tree-ensemble ops (CastMap, DictVectorizer,
ZipMap, TreeEnsemble*) have no rule: they are reported as unknown ops of
domain ``ai.onnx.ml``.

Coefficients live in attributes, not initializers, so they are not counted as
parameters (the parameter walk only sees tensors).
"""

from __future__ import annotations

from archcost.numeric import Count, prod
from archcost.ops.registry import OpResult, OpView, register

ML = "ai.onnx.ml"


def _features(view: OpView) -> tuple[Count, Count]:
    x = view.input(0)
    if len(x.shape) == 1:
        return 1, x.shape[0]
    if len(x.shape) != 2:
        raise view.fail(f"input must be [N, F], got {list(x.shape)}")
    return x.shape[0], x.shape[1]


def _labels_dtype(view: OpView) -> str:
    return "string" if view.attr("classlabels_strings") else "int64"


@register("LinearClassifier", domain=ML)
def linear_classifier(view: OpView) -> OpResult:
    """LinearClassifier: mac = N · F · R, R = len(coefficients) / F; bias_add = N · R with
    intercepts. Outputs: labels ``[N]`` and scores ``[N, R]``.
    """
    n, f = _features(view)
    coefficients = view.attr("coefficients") or []
    if not isinstance(f, int) or f < 1 or len(coefficients) % f:
        raise view.fail(f"{len(coefficients)} coefficients are not a multiple of {f} features")
    rows = len(coefficients) // f
    terms: dict[str, Count] = {"mac": n * f * rows}
    if view.attr("intercepts"):
        terms["bias_add"] = n * rows
    return OpResult(outputs=((n,), (n, rows)), terms=terms, dtypes=(_labels_dtype(view), "float32"))


@register("LinearRegressor", domain=ML)
def linear_regressor(view: OpView) -> OpResult:
    """LinearRegressor: mac = N · F · targets; bias_add = N · targets with intercepts.
    Output ``[N, targets]``.
    """
    n, f = _features(view)
    targets = view.attr("targets", 1)
    terms: dict[str, Count] = {"mac": n * f * targets}
    if view.attr("intercepts"):
        terms["bias_add"] = n * targets
    return OpResult(outputs=((n, targets),), terms=terms, dtypes=("float32",))


def _svm(view: OpView, rows: int) -> dict[str, Count]:
    n, f = _features(view)
    vectors = view.attr("support_vectors") or []
    if vectors:
        if not isinstance(f, int) or len(vectors) % f:
            raise view.fail(f"{len(vectors)} support-vector values are not a multiple of {f}")
        count = len(vectors) // f
        return {"mac": n * count * f + n * count * rows}
    return {"mac": n * f * rows}  # a linear SVM: coefficients only


@register("SVMRegressor", domain=ML)
def svm_regressor(view: OpView) -> OpResult:
    """SVMRegressor: mac = N · V · F (kernel against V support vectors) + N · V (weights);
    without support vectors a linear model, mac = N · F. Output ``[N, 1]``.
    """
    n, _ = _features(view)
    return OpResult(outputs=((n, 1),), terms=_svm(view, 1), dtypes=("float32",))


@register("SVMClassifier", domain=ML)
def svm_classifier(view: OpView) -> OpResult:
    """SVMClassifier: mac = N · V · F (kernel) + N · V · C (per-class weights). Outputs:
    labels ``[N]`` and scores ``[N, C]``.
    """
    n, _ = _features(view)
    classes = len(view.attr("classlabels_ints") or view.attr("classlabels_strings") or [])
    return OpResult(outputs=((n,), (n, classes)), terms=_svm(view, max(classes, 1)),
                    dtypes=(_labels_dtype(view), "float32"))


def _per_element(view: OpView, ops: int, dtype: str | None = "float32") -> OpResult:
    x = view.input(0)
    return OpResult(outputs=(x.shape,), terms={"elementwise_op": ops * prod(x.shape)},
                    dtypes=(dtype,) if dtype else None)


@register("Scaler", domain=ML)
def scaler(view: OpView) -> OpResult:
    """Scaler (x − offset) · scale: elementwise_op = 2 per element; float32 output."""
    return _per_element(view, 2)


@register("Normalizer", domain=ML)
def normalizer(view: OpView) -> OpResult:
    """Normalizer (MAX, L1 or L2 per row): elementwise_op = 3 per element (norm term, add,
    divide); float32 output.
    """
    return _per_element(view, 3)


@register("Binarizer", domain=ML)
def binarizer(view: OpView) -> OpResult:
    """Binarizer: elementwise_op = 1 compare per element."""
    return _per_element(view, 1, None)


@register("Imputer", domain=ML)
def imputer(view: OpView) -> OpResult:
    """Imputer: elementwise_op = 1 compare-and-replace per element."""
    return _per_element(view, 1, None)


@register("ArrayFeatureExtractor", domain=ML, roles=("x", "const"))
def array_feature_extractor(view: OpView) -> OpResult:
    """ArrayFeatureExtractor: pick ``Y`` entries of the last axis; no cost (a lookup)."""
    x, y = view.input(0), view.input(1)
    return OpResult(outputs=((*x.shape[:-1], prod(y.shape)),))


@register("FeatureVectorizer", domain=ML)
def feature_vectorizer(view: OpView) -> OpResult:
    """FeatureVectorizer: concatenate inputs to ``[N, Σ inputdimensions]``; no cost (a copy)."""
    x = view.input(0)
    dims = view.attr("inputdimensions") or []
    return OpResult(outputs=((x.shape[0] if x.shape else 1, sum(dims)),), dtypes=("float32",))


@register("LabelEncoder", domain=ML)
def label_encoder(view: OpView) -> OpResult:
    """LabelEncoder: one lookup per element, elementwise_op = 1; the values' dtype."""
    if view.attr("values_strings"):
        dtype = "string"
    elif view.attr("values_floats"):
        dtype = "float32"
    else:
        dtype = "int64"
    return _per_element(view, 1, dtype)


@register("CategoryMapper", domain=ML)
def category_mapper(view: OpView) -> OpResult:
    """CategoryMapper (strings ↔ int64): elementwise_op = 1 lookup per element."""
    dtype = "int64" if view.input(0).dtype == "string" else "string"
    return _per_element(view, 1, dtype)


@register("OneHotEncoder", domain=ML)
def one_hot_encoder(view: OpView) -> OpResult:
    """OneHotEncoder: ``[*X, categories]`` float32; no cost (a fill)."""
    x = view.input(0)
    categories = len(view.attr("cats_int64s") or view.attr("cats_strings") or [])
    return OpResult(outputs=((*x.shape, categories),), dtypes=("float32",))
