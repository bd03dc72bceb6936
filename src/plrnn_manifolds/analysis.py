"""The ``analyze`` pipeline: orbits, then both manifolds of every saddle, into results.json.

The results file is rewritten atomically after every stage, marked ``"partial": true`` until the
end, so an interrupted run (Ctrl-C, a kill) always leaves a valid file with what was done.
"""

from __future__ import annotations

from pathlib import Path

from .bounds import default_box
from .errors import PLRNNManifoldsError
from .maps import PLMap
from .results import new_results, orbit_entry, write_results


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
):
    """Run the analysis and write ``out_dir/results.json``.

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
    }
    results = new_results(model, source, params)
    path = write_results(out_dir, results)
    try:
        orb = find_orbits(model, max_period=max_period, seed=seed)
        results["orbit_search"] = {"complete": orb.complete, "method": orb.method}
        results["orbits"] = [orbit_entry(o, i) for i, o in enumerate(orb.orbits)]
        if box is None:
            pts = [o.points for o in orb.orbits]
            import numpy as np

            box = default_box(model, points=np.vstack(pts) if pts else None, seed=seed)
        results["box"] = [box[0], box[1]]
        path = write_results(out_dir, results)
        saddles = [(i, o) for i, o in enumerate(orb.orbits) if o.classification == "saddle"]
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
                except PLRNNManifoldsError as exc:
                    results.setdefault("errors", []).append(
                        {"orbit": i, "kind": kind, "error": str(exc)}
                    )
                path = write_results(out_dir, results)
        results["partial"] = False
    except KeyboardInterrupt:
        results["partial"] = True
        results.setdefault("errors", []).append({"error": "interrupted by the user"})
    path = write_results(out_dir, results)
    return results, path
