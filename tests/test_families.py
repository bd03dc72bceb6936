"""Model families against their own formulas, written independently of the package.

Every family constructor must give a canonical map whose value equals the family's defining
equation; the region machinery (``jacobian``, ``affine``, ``region``) must agree with finite
differences and with the activation pattern, and the map must be continuous across facets.
"""

from __future__ import annotations

import numpy as np
import pytest

from plrnn_manifolds.errors import ModelError
from plrnn_manifolds.maps import PLMap
from plrnn_manifolds.models.families import (
    FAMILIES,
    alrnn,
    border_collision,
    canonical,
    clipped_shplrnn,
    dendplrnn,
    from_params,
    lozi,
    pl2d,
    plrnn,
    shplrnn,
)


def relu(x):
    return np.maximum(x, 0.0)


# ----------------------------------------------------------------------- reference formulas
# Each builder returns (map, reference function of a single state z). The reference is the
# family's equation as published, not the canonical form.


def _plrnn_full(rng):
    M = 5
    A, W, h = rng.normal(size=(M, M)), rng.normal(size=(M, M)), rng.normal(size=M)
    return plrnn(A, W, h), lambda z: A @ z + W @ relu(z) + h


def _plrnn_diag_input(rng):
    M = 4
    A, W, h, s = rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M), rng.normal(size=M)
    return plrnn(A, W, h, s=s), lambda z: A * z + W @ relu(z) + h + s


def _alrnn_builder(P):
    def build(rng):
        M = 6
        A, W, h = rng.uniform(-1, 1, M), rng.normal(size=(M, M)) / 2, rng.normal(size=M)
        s = rng.normal(size=M)

        def ref(z):
            phi = np.concatenate([z[: M - P], relu(z[M - P :])])
            return A * z + W @ phi + h + s

        return alrnn(A, W, h, P, s=s), ref

    return build


def _shplrnn(rng):
    M, H = 3, 7
    A, W1, W2 = rng.normal(size=M), rng.normal(size=(M, H)), rng.normal(size=(H, M))
    h1, h2, s = rng.normal(size=M), rng.normal(size=H), rng.normal(size=M)
    return shplrnn(A, W1, W2, h1, h2, s=s), lambda z: A * z + W1 @ relu(W2 @ z + h2) + h1 + s


def _clipped(rng):
    M, H = 3, 5
    A, W1, W2 = rng.normal(size=(M, M)), rng.normal(size=(M, H)), rng.normal(size=(H, M))
    h1, h2 = rng.normal(size=M), rng.normal(size=H)
    return clipped_shplrnn(
        A, W1, W2, h1, h2
    ), lambda z: A @ z + W1 @ (relu(W2 @ z + h2) - relu(W2 @ z)) + h1


def _dend(rng):
    M, B = 4, 3
    A, W, h = rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M)
    alphas, thetas = rng.normal(size=B), rng.normal(size=(M, B))

    def ref(z):
        phi = sum(alphas[b] * relu(z - thetas[:, b]) for b in range(B))
        return A * z + W @ phi + h

    return dendplrnn(A, W, h, alphas, thetas), ref


def _canonical(rng):
    M, H = 3, 4
    A, W1, W2 = rng.normal(size=(M, M)), rng.normal(size=(M, H)), rng.normal(size=(H, M))
    h1, h2 = rng.normal(size=M), rng.normal(size=H)

    # Written elementwise so it shares no vectorised expression with maps.py.
    def ref(z):
        out = np.zeros(M)
        for m in range(M):
            out[m] = sum(A[m, k] * z[k] for k in range(M)) + h1[m]
            for j in range(H):
                pre = sum(W2[j, k] * z[k] for k in range(M)) + h2[j]
                out[m] += W1[m, j] * max(pre, 0.0)
        return out

    return canonical(A, W1, W2, h1, h2), ref


def _pl2d_offset(rng):
    # Continuous 2-D map: left branch Al X + B; the right branch has matrix Ar and agrees with
    # the left one on the line n.X = offset, i.e. Ar X + B + (Al - Ar) X0 with n.X0 = offset.
    Al = rng.normal(size=(2, 2))
    n = rng.normal(size=2)
    v = rng.normal(size=2)
    Ar = Al + np.outer(v, n)
    B = rng.normal(size=2)
    offset = 0.7
    X0 = offset * n / (n @ n)

    def ref(X):
        if n @ X <= offset:
            return Al @ X + B
        return Ar @ X + B + (Al - Ar) @ X0

    return pl2d(Al, Ar, B, normal=n, offset=offset), ref


def _pl2d_zero_offset(rng):
    Al = rng.normal(size=(2, 2))
    Ar = Al.copy()
    Ar[:, 0] += rng.normal(size=2)  # differs only in the column of x: normal (1, 0)
    B = rng.normal(size=2)
    return pl2d(Al, Ar, B), lambda X: (Al @ X if X[0] <= 0 else Ar @ X) + B


def _border_collision(rng):
    tl, dl, tr, dr, c, d, h1, h2 = rng.normal(size=8)

    def ref(X):
        x, y = X
        if x <= 0:
            return np.array([tl * x + c * y + h1, -dl * x + d * y + h2])
        return np.array([tr * x + c * y + h1, -dr * x + d * y + h2])

    return border_collision(tl, dl, tr, dr, c, d, h1, h2), ref


def _lozi(rng):
    a, b = rng.uniform(1, 2), rng.uniform(-0.8, 0.8)
    return lozi(a, b), lambda X: np.array([1 - a * abs(X[0]) + X[1], b * X[0]])


#: Builders that pass a constant external input s (folded into h1, not a family parameter).
WITH_INPUT = {"plrnn_diag_input", "alrnn_P1", "alrnn_P3", "alrnn_PM", "shplrnn"}

BUILDERS = {
    "plrnn_full": _plrnn_full,
    "plrnn_diag_input": _plrnn_diag_input,
    "alrnn_P1": _alrnn_builder(1),
    "alrnn_P3": _alrnn_builder(3),
    "alrnn_PM": _alrnn_builder(6),
    "shplrnn": _shplrnn,
    "clipped_shplrnn": _clipped,
    "dendplrnn": _dend,
    "canonical": _canonical,
    "pl2d_offset": _pl2d_offset,
    "pl2d_zero_offset": _pl2d_zero_offset,
    "border_collision": _border_collision,
    "lozi": _lozi,
}


def _build(name, seed=0):
    rng = np.random.default_rng([seed, sorted(BUILDERS).index(name)])
    model, ref = BUILDERS[name](rng)
    return model, ref, rng


def test_every_family_is_covered():
    covered = {
        "plrnn",
        "alrnn",
        "shplrnn",
        "clipped_shplrnn",
        "dendplrnn",
        "canonical",
        "pl2d",
        "border_collision",
        "lozi",
    }
    assert covered == set(FAMILIES)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_canonical_map_equals_family_formula(name):
    model, ref, rng = _build(name)
    Z = rng.normal(scale=2.0, size=(200, model.M))
    want = np.array([ref(z) for z in Z])
    tol = 1e-12 * model.scale * (1 + np.abs(Z).max())
    np.testing.assert_allclose(model(Z), want, rtol=0, atol=tol)  # batch
    np.testing.assert_allclose(model(Z[7]), want[7], rtol=0, atol=tol)  # single state
    # Batches of any leading shape.
    np.testing.assert_allclose(model(Z.reshape(10, 20, -1)), want.reshape(10, 20, -1), atol=tol)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_family_name_and_params_rebuild_the_map(name):
    model, _, _ = _build(name)
    names = FAMILIES[model.family][1]
    assert set(names) <= set(model.params)
    again = from_params(model.family, {k: model.params[k] for k in names})
    Z = np.random.default_rng(5).normal(size=(30, model.M))
    if name in WITH_INPUT:
        # The constant input s is folded into h1 and is not a family parameter.
        assert not np.allclose(again(Z), model(Z))
    else:
        np.testing.assert_array_equal(again(Z), model(Z))


def _interior_points(model, rng, n, margin):
    """Random states at least ``margin`` away from every region hyperplane."""
    Z = rng.normal(scale=2.0, size=(20 * n, model.M))
    Z = Z[model.boundary_margin(Z) > margin][:n]
    assert len(Z) >= n // 2, "too few interior points: test set-up problem"
    return Z


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_jacobian_and_affine_match_finite_differences(name):
    model, ref, rng = _build(name, seed=1)
    eps = 1e-5
    for z in _interior_points(model, rng, 20, margin=1e-3):
        d = model.pattern(z)
        J, c = model.affine(d)
        np.testing.assert_array_equal(J, model.jacobian(d))
        # Central differences of the *reference formula*: exact for an affine piece up to
        # rounding, since the stencil stays inside the region (margin 1e-3 >> eps * |W2|).
        fd = np.column_stack(
            [(ref(z + eps * e) - ref(z - eps * e)) / (2 * eps) for e in np.eye(model.M)]
        )
        np.testing.assert_allclose(J, fd, atol=1e-8 * model.scale * (1 + np.abs(z).max()))
        np.testing.assert_allclose(
            J @ z + c, ref(z), atol=1e-12 * model.scale * (1 + np.abs(z).max())
        )


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_batched_jacobian_and_affine(name):
    model, _, rng = _build(name, seed=2)
    Z = rng.normal(size=(15, model.M))
    D = model.pattern(Z)
    J, c = model.affine(D)
    assert J.shape == (15, model.M, model.M) and c.shape == (15, model.M)
    for k in range(15):
        Jk, ck = model.affine(D[k])
        np.testing.assert_array_equal(J[k], Jk)
        np.testing.assert_allclose(c[k], ck, rtol=0, atol=1e-14 * model.scale)
    np.testing.assert_allclose(
        np.einsum("kmn,kn->km", J, Z) + c, model(Z), atol=1e-12 * model.scale * 10
    )


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_region_contains_exactly_the_points_of_its_pattern(name):
    model, _, rng = _build(name, seed=3)
    Z = _interior_points(model, rng, 300, margin=1e-9)
    D = model.pattern(Z)
    for d in np.unique(D, axis=0)[:8]:
        G, g = model.region(d)
        assert G.shape == (model.H, model.M) and g.shape == (model.H,)
        inside = np.all(Z @ G.T <= g, axis=1)
        same = np.all(D == d, axis=1)
        np.testing.assert_array_equal(inside, same)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_continuity_across_facets(name):
    model, ref, rng = _build(name, seed=4)
    W2, h2 = model.W2, model.h2
    checked = 0
    for _ in range(40):
        z = rng.normal(scale=2.0, size=model.M)
        i = rng.integers(model.H)
        if np.linalg.norm(W2[i]) == 0:
            continue
        # Project z onto hyperplane i: W2_i z0 + h2_i = 0.
        z0 = z - (W2[i] @ z + h2[i]) / (W2[i] @ W2[i]) * W2[i]
        d_on = model.pattern(z0)
        d_on[i] = True
        d_off = d_on.copy()
        d_off[i] = False
        J1, c1 = model.affine(d_on)
        J0, c0 = model.affine(d_off)
        tol = 1e-11 * model.scale * (1 + np.abs(z0).max())
        np.testing.assert_allclose(J1 @ z0 + c1, J0 @ z0 + c0, atol=tol)
        np.testing.assert_allclose(model(z0), ref(z0), atol=tol)
        checked += 1
    assert checked >= 20


def test_ties_go_to_zero():
    # A PLRNN state with an exactly zero unit sits on the hyperplane; its bit is 0.
    m = plrnn(np.ones(3) * 0.5, np.eye(3), np.zeros(3))
    assert m.pattern(np.array([0.0, 1.0, -1.0])).tolist() == [False, True, False]


def test_lozi_classic_values():
    # Hand-computed: x' = 1 - 1.7 * |0.5| + 0.2 = 0.35, y' = 0.5 * 0.5 = 0.25.
    m = lozi(1.7, 0.5)
    np.testing.assert_allclose(m([0.5, 0.2]), [0.35, 0.25], atol=1e-15)
    np.testing.assert_allclose(m([-0.5, 0.2]), [0.35, -0.25], atol=1e-15)
    assert m.M == 2 and m.H == 1


def test_border_collision_branch_matrices():
    m = border_collision(-0.3, 0.9, -1.85, 0.9, 1.0, 0.0, -1.0, 0.0)
    Jl, cl = m.affine([False])
    Jr, cr = m.affine([True])
    np.testing.assert_allclose(Jl, [[-0.3, 1.0], [-0.9, 0.0]], atol=1e-15)
    np.testing.assert_allclose(Jr, [[-1.85, 1.0], [-0.9, 0.0]], atol=1e-15)
    np.testing.assert_allclose(cl, [-1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(cr, [-1.0, 0.0], atol=1e-15)


def test_alrnn_canonical_structure():
    # Only the last P units have hyperplanes, and those are the coordinate planes z_j = 0.
    rng = np.random.default_rng(11)
    M, P = 5, 2
    m = alrnn(rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M), P)
    assert m.H == P
    np.testing.assert_array_equal(m.W2, np.eye(M)[M - P :])
    np.testing.assert_array_equal(m.h2, np.zeros(P))


def test_dendplrnn_thresholds_sit_at_theta():
    # Unit j of basis b switches exactly at z_j = theta[j, b].
    rng = np.random.default_rng(12)
    M, B = 3, 2
    thetas = rng.normal(size=(M, B))
    m = dendplrnn(
        rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M), rng.normal(size=B), thetas
    )
    for b in range(B):
        for j in range(M):
            z = np.zeros(M)
            z[j] = thetas[j, b]
            assert m.preactivation(z)[b * M + j] == pytest.approx(0.0, abs=1e-15)


# -------------------------------------------------------------------------------- bad input
BAD_CALLS = {
    "plrnn W not square": lambda: plrnn(np.ones(3), np.ones((3, 2)), np.ones(3)),
    "plrnn A wrong length": lambda: plrnn(np.ones(2), np.eye(3), np.ones(3)),
    "plrnn A wrong matrix": lambda: plrnn(np.ones((3, 2)), np.eye(3), np.ones(3)),
    "plrnn h wrong length": lambda: plrnn(np.ones(3), np.eye(3), np.ones(4)),
    "plrnn NaN in W": lambda: plrnn(np.ones(2), [[1.0, np.nan], [0.0, 1.0]], np.ones(2)),
    "plrnn inf in h": lambda: plrnn(np.ones(2), np.eye(2), [np.inf, 0.0]),
    "plrnn ragged W": lambda: plrnn(np.ones(2), [[1.0, 2.0], [3.0]], np.ones(2)),
    "plrnn non-numeric": lambda: plrnn(np.ones(2), np.eye(2), ["a", "b"]),
    "plrnn s wrong length": lambda: plrnn(np.ones(2), np.eye(2), np.ones(2), s=np.ones(3)),
    "alrnn P float": lambda: alrnn(np.ones(3), np.eye(3), np.ones(3), 1.5),
    "alrnn P string": lambda: alrnn(np.ones(3), np.eye(3), np.ones(3), "2"),
    "alrnn P zero": lambda: alrnn(np.ones(3), np.eye(3), np.ones(3), 0),
    "alrnn P too big": lambda: alrnn(np.ones(3), np.eye(3), np.ones(3), 4),
    "alrnn P None": lambda: alrnn(np.ones(3), np.eye(3), np.ones(3), None),
    "alrnn P list": lambda: alrnn(np.ones(3), np.eye(3), np.ones(3), [1, 2]),
    "shplrnn W2 wrong": lambda: shplrnn(
        np.ones(2), np.ones((2, 3)), np.ones((2, 2)), np.ones(2), np.ones(3)
    ),
    "shplrnn h2 wrong": lambda: shplrnn(
        np.ones(2), np.ones((2, 3)), np.ones((3, 2)), np.ones(2), np.ones(2)
    ),
    "clipped NaN": lambda: clipped_shplrnn(
        np.ones(2), np.ones((2, 3)), np.ones((3, 2)), [np.nan, 0], np.ones(3)
    ),
    "dend thetas wrong": lambda: dendplrnn(
        np.ones(2), np.eye(2), np.ones(2), np.ones(3), np.ones((3, 2))
    ),
    "dend no bases": lambda: dendplrnn(
        np.ones(2), np.eye(2), np.ones(2), np.ones(0), np.ones((2, 0))
    ),
    "canonical no hidden": lambda: canonical(
        np.ones(2), np.ones((2, 0)), np.ones((0, 2)), np.ones(2), np.ones(0)
    ),
    "pl2d discontinuous": lambda: pl2d(np.eye(2), [[2.0, 1.0], [0.0, 1.0]], [0, 0]),
    "pl2d zero normal": lambda: pl2d(np.eye(2), np.eye(2), [0, 0], normal=(0, 0)),
    "pl2d wrong shape": lambda: pl2d(np.eye(3), np.eye(3), [0, 0, 0]),
    "border_collision vector": lambda: border_collision([1, 2], 0.9, -1.85, 0.9, 1, 0, -1, 0),
    "border_collision NaN": lambda: border_collision(np.nan, 0.9, -1.85, 0.9, 1, 0, -1, 0),
    "lozi NaN": lambda: lozi(np.nan, 0.5),
    "from_params unknown": lambda: from_params("lstm", {}),
    "from_params missing": lambda: from_params("plrnn", {"A": np.ones(2), "W": np.eye(2)}),
    "from_params P vector": lambda: from_params(
        "alrnn", {"A": np.ones(2), "W": np.eye(2), "h": np.ones(2), "P": [1]}
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises_model_error(case):
    with pytest.raises(ModelError) as info:
        BAD_CALLS[case]()
    msg = str(info.value)
    assert len(msg) > 20  # a sentence, not a bare numpy message
    assert "Traceback" not in msg


def test_bad_input_messages_name_the_problem():
    with pytest.raises(ModelError, match="'W'.*NaN"):
        BAD_CALLS["plrnn NaN in W"]()
    with pytest.raises(ModelError, match="rectangular"):
        BAD_CALLS["plrnn ragged W"]()
    with pytest.raises(ModelError, match="P .*integer"):
        BAD_CALLS["alrnn P float"]()
    with pytest.raises(ModelError, match="discontinuous"):
        BAD_CALLS["pl2d discontinuous"]()
    with pytest.raises(ModelError, match="known families"):
        BAD_CALLS["from_params unknown"]()


def test_plmap_rejects_bad_canonical_parameters():
    with pytest.raises(ModelError):
        PLMap(np.eye(2), np.ones((3, 1)), np.ones((1, 2)), np.zeros(2), np.zeros(1))
    with pytest.raises(ModelError):
        PLMap(np.ones((2, 3)), np.ones((2, 1)), np.ones((1, 2)), np.zeros(2), np.zeros(1))


def test_pl2d_rejects_small_discontinuity():
    Al = np.zeros((2, 2))
    Ar = np.array([[1.0, 1.0 + 1e-6], [0.0, 0.0]])  # not rank-one along n = (1, 1)
    with pytest.raises(ModelError):
        pl2d(Al, Ar, [0.0, 0.0], normal=(1.0, 1.0))
