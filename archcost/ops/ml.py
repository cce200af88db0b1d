"""``ai.onnx.ml`` ops (scikit-learn style models), costed where the arithmetic is plain.

Linear models are dense products: mac = N · F · R, R rows of coefficients
(classes or targets), with their intercepts as bias adds; an SVM evaluates its
kernel against every support vector (mac = N · V · F) and then weighs the
kernel values (mac = N · V · R). Per-feature transforms cost ``elementwise_op``
per element. A tree ensemble compares once per level of each tree a sample
walks down: ``elementwise_op`` = N · Σ depth (the deepest path of every tree,
an upper bound). ZipMap turns scores into a sequence of maps, represented as
the scores' ``[N, C]``. CastMap and DictVectorizer read maps, which archcost
does not represent: they are reported as unknown ops.

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
    intercepts. Outputs: labels ``[N]`` and scores ``[N, C]``, one per class label (a binary
    classifier with one row of coefficients scores both classes), or R without labels.
    """
    n, f = _features(view)
    coefficients = view.attr("coefficients") or []
    if not isinstance(f, int) or f < 1 or len(coefficients) % f:
        raise view.fail(f"{len(coefficients)} coefficients are not a multiple of {f} features")
    rows = len(coefficients) // f
    terms: dict[str, Count] = {"mac": n * f * rows}
    if view.attr("intercepts"):
        terms["bias_add"] = n * rows
    classes = len(view.attr("classlabels_ints") or view.attr("classlabels_strings") or []) or rows
    return OpResult(outputs=((n,), (n, classes)), terms=terms, dtypes=(_labels_dtype(view), "float32"))


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


@register("ZipMap", domain=ML)
def zip_map(view: OpView) -> OpResult:
    """ZipMap: scores ``[N, C]`` → a sequence of N maps of C entries, represented as ``[N, C]``;
    no cost (a relabelling)."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), dtypes=("map",))


def _tree_depths(roots: list[int], children: dict[int, list[int]]) -> int:
    """Σ over trees of the number of levels on the deepest root-to-leaf path."""
    total = 0
    for root in roots:
        deepest, stack, seen = 0, [(root, 1)], set()
        while stack:
            node, level = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children.get(node, ()))
        total += deepest
    return total


def _ensemble(view: OpView, width: Count, depth: int, *, labels: bool) -> OpResult:
    n, _ = _features(view)
    terms: dict[str, Count] = {"elementwise_op": n * depth}
    if labels:
        return OpResult(outputs=((n,), (n, width)), terms=terms, dtypes=(_labels_dtype(view), "float32"))
    return OpResult(outputs=((n, width),), terms=terms, dtypes=(view.input(0).dtype,))


def _legacy_depth(view: OpView) -> int:
    """Σ tree depths of a TreeEnsembleRegressor/Classifier (nodes keyed by tree and node id)."""
    trees = list(view.attr("nodes_treeids") or [])
    ids = list(view.attr("nodes_nodeids") or [])
    modes = [m.decode() if isinstance(m, bytes) else str(m) for m in view.attr("nodes_modes") or []]
    true_ids = list(view.attr("nodes_truenodeids") or [])
    false_ids = list(view.attr("nodes_falsenodeids") or [])
    if not (len(trees) == len(ids) == len(modes) == len(true_ids) == len(false_ids)):
        raise view.fail("the nodes_* attributes must have one entry per node")
    children: dict[int, list[int]] = {}
    key = {(t, i): k for k, (t, i) in enumerate(zip(trees, ids, strict=True))}
    roots: dict[int, int] = {}
    for k, (t, mode) in enumerate(zip(trees, modes, strict=True)):
        if mode == "LEAF":
            continue  # a leaf is not a compare
        roots.setdefault(t, k)
        children[k] = [key[(t, c)] for c in (true_ids[k], false_ids[k])
                       if (t, c) in key and modes[key[(t, c)]] != "LEAF"]
    return _tree_depths(list(roots.values()), children)


@register("TreeEnsembleRegressor", domain=ML)
def tree_ensemble_regressor(view: OpView) -> OpResult:
    """TreeEnsembleRegressor: elementwise_op = N · Σ tree depths (a compare per level walked,
    the deepest path: an upper bound). Output ``[N, n_targets]``."""
    return _ensemble(view, view.attr("n_targets", 1), _legacy_depth(view), labels=False)


@register("TreeEnsembleClassifier", domain=ML)
def tree_ensemble_classifier(view: OpView) -> OpResult:
    """TreeEnsembleClassifier: elementwise_op = N · Σ tree depths (as the regressor). Outputs:
    labels ``[N]`` and scores ``[N, C]``, C the class labels (2 for a binary classifier)."""
    classes = len(view.attr("classlabels_int64s") or view.attr("classlabels_strings") or [])
    return _ensemble(view, max(classes, 2) if classes else 1, _legacy_depth(view), labels=True)


@register("TreeEnsemble", domain=ML)
def tree_ensemble(view: OpView) -> OpResult:
    """TreeEnsemble (ai.onnx.ml 5): elementwise_op = N · Σ tree depths (a compare per level
    walked, the deepest path: an upper bound). Output ``[N, n_targets]``."""
    true_ids = list(view.attr("nodes_truenodeids") or [])
    false_ids = list(view.attr("nodes_falsenodeids") or [])
    true_leaf = list(view.attr("nodes_trueleafs") or [])
    false_leaf = list(view.attr("nodes_falseleafs") or [])
    if not (len(true_ids) == len(false_ids) == len(true_leaf) == len(false_leaf)):
        raise view.fail("the nodes_* attributes must have one entry per node")
    children = {k: [c for c, leaf in ((true_ids[k], true_leaf[k]), (false_ids[k], false_leaf[k])) if not leaf]
                for k in range(len(true_ids))}
    depth = _tree_depths(list(view.attr("tree_roots") or []), children)
    return _ensemble(view, view.attr("n_targets", 1), depth, labels=False)
