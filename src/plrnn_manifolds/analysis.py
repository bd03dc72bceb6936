"""The ``analyze`` pipeline: orbits, both manifolds of every saddle, attractors and basins,
basin boundaries, intersections and the chaos verdict, into results.json.

Stages (DESIGN.md sections 3-5):

1. orbits up to ``max_period`` (:func:`~plrnn_manifolds.orbits.find_orbits`);
2. the stable and unstable manifold of every saddle (exact or sampled);
3. attractors (:func:`~plrnn_manifolds.basins.find_attractors`: stable orbits plus simulated
   ones, labelled by Lyapunov exponents) and Monte Carlo basin fractions;
4. basin boundaries from the codimension-1 stable manifolds and each attractor's exact distance
   to its boundary (:func:`~plrnn_manifolds.boundaries.basin_boundaries`);
5. homoclinic and heteroclinic points (:func:`~plrnn_manifolds.intersections.find_intersections`)
   and the chaos verdict (:func:`~plrnn_manifolds.intersections.chaos_verdict`).

The results file is rewritten atomically after every stage, marked ``"partial": true`` until the
end, so an interrupted run (Ctrl-C, a kill) always leaves a valid file with what was done. A stage
that fails with a library error is recorded in ``errors`` (with its ``stage``) and the run goes on.
"""

from __future__ import annotations

import time
from pathlib import Path

from .bounds import default_box
from .errors import PLRNNManifoldsError
from .maps import PLMap
from .results import attractor_entry, intersection_entry, new_results, orbit_entry, write_results


def run_analysis(
    model: PLMap,
    out_dir,
    *,
    source: str | None = None,
    max_period: int = 1,
    box=None,
    depth: int | None = None,
    max_pieces: int = 5000,
    method: str = "exact",
    seed: int = 0,
    console=None,
    progress: bool = False,
    attractors: bool = True,
    n_initial: int = 200,
    basin_samples: int = 2000,
    intersections: bool = True,
    max_intersections: int = 200,
):
    """Run the analysis and write ``out_dir/results.json``.

    Parameters beyond the orbit and manifold ones: ``attractors`` (stages 3-4 and the
    exponents of the chaos verdict), ``n_initial`` (initial conditions of the attractor search),
    ``basin_samples`` (Monte Carlo samples of the basin fractions), ``intersections`` (stage 5),
    ``max_intersections`` (points kept per manifold pair and overall).

    Returns ``(results_dict, path)``. On KeyboardInterrupt the partial results are written
    (``"partial": true``) and the interrupt is swallowed, so the caller can report it.
    """
    from .manifolds import grow_manifold
    from .orbits import find_orbits

    out_dir = Path(out_dir)
    params = {
        "max_period": max_period,
        "box": None if box is None else [list(map(float, box[0])), list(map(float, box[1]))],
        "depth": depth,
        "max_pieces": max_pieces,
        "method": method,
        "seed": seed,
        "attractors": bool(attractors),
        "intersections": bool(intersections),
        "n_initial": int(n_initial),
        "basin_samples": int(basin_samples),
        "max_intersections": int(max_intersections),
    }
    results = new_results(model, source, params)
    path = write_results(out_dir, results)
    checkpoint = _Checkpoint(out_dir, results)
    try:
        orb = find_orbits(model, max_period=max_period, seed=seed)
        results["orbit_search"] = {"complete": orb.complete, "method": orb.method}
        results["orbits"] = [orbit_entry(o, i) for i, o in enumerate(orb.orbits)]
        if box is None:
            pts = [o.points for o in orb.orbits]
            import numpy as np

            box = default_box(model, points=np.vstack(pts) if pts else None, seed=seed)
        results["box"] = [box[0], box[1]]
        checkpoint()
        saddles = [(i, o) for i, o in enumerate(orb.orbits) if o.classification == "saddle"]
        grown = []
        for i, o in saddles:
            for kind in ("stable", "unstable"):
                if console is not None:
                    console.print(f"growing the {kind} manifold of orbit {i} (period {o.period})")
                try:
                    if method == "exact":
                        man = grow_manifold(
                            model,
                            o,
                            kind,
                            box=box,
                            depth=depth,
                            max_pieces=max_pieces,
                            seed=seed,
                            orbit_id=i,
                        )
                    else:
                        from .manifolds.sampled import sampled_manifold

                        man = sampled_manifold(
                            model, o, kind, box=box, depth=depth, seed=seed, orbit_id=i
                        )
                    results["manifolds"].append(man.to_dict())
                    grown.append(man)
                except PLRNNManifoldsError as exc:
                    results.setdefault("errors", []).append(
                        {"orbit": i, "kind": kind, "error": str(exc)}
                    )
                checkpoint()
        _later_stages(
            model,
            orb.orbits,
            grown,
            box,
            results,
            checkpoint,
            seed=seed,
            console=console,
            attractors=attractors,
            n_initial=n_initial,
            basin_samples=basin_samples,
            intersections=intersections,
            max_intersections=max_intersections,
        )
        results["partial"] = False
    except KeyboardInterrupt:
        results["partial"] = True
        results.setdefault("errors", []).append({"error": "interrupted by the user"})
    path = write_results(out_dir, results)
    return results, path


class _Checkpoint:
    """Rewrite ``results.json`` between stages, at most every ``interval`` seconds.

    The file of a large model is megabytes of JSON, and rewriting it after every manifold took
    a fifth of the run; the final write is unconditional, so throttling only bounds what an
    unexpected crash could lose (the work of the last ``interval`` seconds).
    """

    def __init__(self, out_dir, results: dict, interval: float = 20.0):
        self.out_dir, self.results, self.interval = out_dir, results, interval
        self.last = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self.last >= self.interval:
            write_results(self.out_dir, self.results)
            self.last = time.monotonic()


def _stage_error(results: dict, stage: str, exc: Exception) -> None:
    results.setdefault("errors", []).append({"stage": stage, "error": str(exc)})


def _later_stages(
    model,
    orbits,
    manifolds,
    box,
    results,
    checkpoint,
    *,
    seed,
    console,
    attractors,
    n_initial,
    basin_samples,
    intersections,
    max_intersections,
):
    """Stages 3-5 (attractors and basins, boundaries, intersections and the chaos verdict)."""
    import warnings

    def say(msg):
        if console is not None:
            console.print(msg)

    cat = None
    # Skipped stages still leave their contract fields, so readers need no special case.
    results.setdefault("attractors", [])
    results.setdefault("intersections", [])
    if not intersections:
        results["chaos"] = {
            "verdict": "inconclusive",
            "reasons": ["The intersection stage was skipped (--no-intersections)."],
        }
    if attractors:
        from .basins import basin_fractions, find_attractors

        say("finding attractors and basin fractions")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cat = find_attractors(model, orbits, n_initial=n_initial, box=box, seed=seed)
                fr = basin_fractions(model, cat, n_samples=basin_samples, box=box, seed=seed)
            cat = cat.with_basin_fractions(fr)
            results["attractors"] = [attractor_entry(a) for a in cat]
            results["basins"] = fr.to_dict()
            if cat.notes:
                results["basins"]["notes"] = list(cat.notes)
        except PLRNNManifoldsError as exc:
            _stage_error(results, "attractors", exc)
            cat = None
        checkpoint()
        if cat is not None:
            from .boundaries import basin_boundaries

            say("computing basin boundaries")
            try:
                ba = basin_boundaries(model, cat, manifolds, seed=seed)
                cat = ba.apply(cat)
                results["attractors"] = [attractor_entry(a) for a in cat]
                results["boundaries"] = ba.to_dict()
            except PLRNNManifoldsError as exc:
                _stage_error(results, "boundaries", exc)
            checkpoint()
    if intersections:
        from .intersections import chaos_verdict, find_intersections

        say("intersecting stable and unstable manifolds")
        try:
            search = find_intersections(
                model, manifolds, max_points=max_intersections, count_all=False
            )
            results["intersections"] = [intersection_entry(p) for p in search.intersections]
            results["intersection_search"] = search.summary()
            checkpoint()
            results["chaos"] = chaos_verdict(search, cat, manifolds=manifolds)
            for err in results.get("errors", []):
                if "kind" in err and "orbit" in err:
                    results["chaos"]["reasons"].append(
                        f"The {err['kind']} manifold of orbit {err['orbit']} could not be "
                        f"computed ({err['error']}), so intersections involving it were not "
                        "searched."
                    )
            if cat is None:
                results["chaos"]["reasons"].append(
                    "The attractor stage was skipped or failed, so no Lyapunov exponent entered "
                    "the verdict."
                )
        except PLRNNManifoldsError as exc:
            _stage_error(results, "intersections", exc)
        checkpoint()
