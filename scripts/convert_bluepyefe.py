#!/usr/bin/env python
"""Convert the BluePyEfe cortical-neuron test recordings (cell B6, IDRest) to a small .npz.

Source: the BSD-licensed test data inside the BluePyEfe 2.3.63 source distribution, files
``tests/exp_data/B6/B6_Ch3_IDRest_<k>.ibw`` (membrane potential, mV) and
``tests/exp_data/B6/B6_Ch0_IDRest_<k>.ibw`` (injected current, pA), k = 181..185, sampled at
dt = 0.25 ms, 12000 samples (3 s) each, with a 2 s depolarising current step that makes the cell
fire tonically.

Usage (from the repository root)::

    pip download --no-deps --no-binary :all: bluepyefe==2.3.63 -d /tmp/bpe
    pip install igor2            # needed by this script only, not a runtime dependency
    python scripts/convert_bluepyefe.py --sdist /tmp/bpe/bluepyefe-2.3.63.tar.gz

``--sdist`` accepts the ``.tar.gz`` or an extracted directory. The output
(default ``src/plrnn_manifolds/data/cortical_neuron_b6.npz``) holds:

- ``voltage``: float32 (T, n_traces), membrane potential in mV as recorded (no liquid-junction
  correction), axis 0 time, axis 1 trace;
- ``current``: float32 (T, n_traces), injected current in pA;
- ``dt``: float64 scalar, sampling interval in seconds;
- ``trace_ids``: int (n_traces,), the file numbers (181..185);
- ``provenance``: a JSON string with source package and version, file names, licence, sampling
  interval, the step's sample range and amplitudes, and the liquid-junction-potential note.

float32 is lossless here: the recordings are stored as 32-bit floats in the .ibw files.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

PACKAGE = "bluepyefe"
VERSION = "2.3.63"
TRACES = (181, 182, 183, 184, 185)
DT = 0.00025  # s, from the .ibw headers (sfA[0]) and BluePyEfe's test configuration
LJP_NOTE = (
    "Voltages are stored as recorded, without liquid-junction-potential (LJP) correction. "
    "BluePyEfe's own test configuration for these files uses ljp = 14.0 mV, which it "
    "subtracts (V_corrected = V_recorded - 14 mV); apply the same if absolute potentials matter."
)


def _readers(sdist: Path):
    """Return a function name -> bytes reading files of the sdist (tar.gz or directory)."""
    if sdist.is_dir():
        root = sdist
        if not (root / "tests").is_dir():
            cands = [p for p in root.iterdir() if (p / "tests" / "exp_data").is_dir()]
            if not cands:
                sys.exit(f"error: no tests/exp_data folder under {sdist}")
            root = cands[0]
        return lambda rel: (root / rel).read_bytes()
    if sdist.is_file() and sdist.name.endswith((".tar.gz", ".tgz")):
        tar = tarfile.open(sdist, "r:gz")
        prefix = f"{PACKAGE}-{VERSION}/"

        def read(rel):
            member = tar.getmember(prefix + rel)
            return tar.extractfile(member).read()

        return read
    sys.exit(f"error: {sdist} is neither a directory nor a .tar.gz source distribution")


def _load_wave(raw: bytes, name: str, unit: str) -> tuple[np.ndarray, float]:
    try:
        import igor2.binarywave as bw
    except ImportError:
        sys.exit("error: this script needs igor2 (pip install igor2)")
    wave = bw.load(io.BytesIO(raw))["wave"]
    header = wave["wave_header"]
    units = b"".join(header["dataUnits"]).decode()
    if units != unit:
        sys.exit(f"error: {name} has data units {units!r}, expected {unit!r}")
    dt = float(header["sfA"][0])
    return np.asarray(wave["wData"], dtype=np.float32), dt


def convert(sdist: Path, out: Path, traces=TRACES) -> dict:
    """Read the traces, check them, and write the .npz; return the provenance record."""
    read = _readers(sdist)
    volts, currs, files = [], [], []
    for k in traces:
        vname = f"tests/exp_data/B6/B6_Ch3_IDRest_{k}.ibw"
        iname = f"tests/exp_data/B6/B6_Ch0_IDRest_{k}.ibw"
        v, dtv = _load_wave(read(vname), vname, "mV")
        i, dti = _load_wave(read(iname), iname, "pA")
        if not (np.isclose(dtv, DT) and np.isclose(dti, DT)):
            sys.exit(f"error: trace {k} has dt {dtv}/{dti} s, expected {DT}")
        if v.shape != i.shape or v.shape != (12000,):
            sys.exit(f"error: trace {k} has shapes {v.shape}/{i.shape}, expected (12000,)")
        volts.append(v)
        currs.append(i)
        files += [vname, iname]
    V = np.stack(volts, axis=1)
    current = np.stack(currs, axis=1)
    # The step: samples where the current exceeds half its maximum (same for all traces).
    steps, amps = [], []
    for j in range(current.shape[1]):
        on = np.nonzero(current[:, j] > 0.5 * current[:, j].max())[0]
        steps.append((int(on[0]), int(on[-1]) + 1))
        amps.append(float(np.median(current[on[0] : on[-1] + 1, j])))
    provenance = {
        "source": f"{PACKAGE} {VERSION} source distribution (PyPI), folder tests/exp_data/B6",
        "package": PACKAGE,
        "version": VERSION,
        "files": files,
        "licence": "BSD (BluePyEfe's examples and tests are BSD-licensed; the library is "
        "LGPL-3.0); Copyright (C) 2005-2024 Blue Brain Project/EPFL",
        "recording": "whole-cell current-clamp recording of cell B6, protocol IDRest "
        "(depolarising current steps), from BluePyEfe's test data; the package does not "
        "state the species or area (the project issue describes rat somatosensory cortex)",
        "dt_seconds": DT,
        "samples_per_trace": int(V.shape[0]),
        "layout": "voltage and current have shape (T, n_traces): axis 0 time, axis 1 trace",
        "units": {"voltage": "mV", "current": "pA", "dt": "s"},
        "trace_ids": list(traces),
        "step_samples": steps,
        "step_amplitude_pA": amps,
        "liquid_junction_potential": LJP_NOTE,
        "converted_by": "scripts/convert_bluepyefe.py (plrnn-manifolds)",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        voltage=V,
        current=current,
        dt=np.float64(DT),
        trace_ids=np.array(traces, dtype=np.int64),
        provenance=np.array(json.dumps(provenance, indent=1)),
    )
    out.write_bytes(buf.getvalue())
    return provenance


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sdist", type=Path, required=True, help="bluepyefe-2.3.63.tar.gz or its extracted folder"
    )
    ap.add_argument(
        "--out", type=Path, default=Path("src/plrnn_manifolds/data/cortical_neuron_b6.npz")
    )
    ap.add_argument(
        "--traces",
        type=int,
        nargs="+",
        default=list(TRACES),
        help="file numbers to include (default: all five, 181..185)",
    )
    args = ap.parse_args(argv)
    prov = convert(args.sdist, args.out, tuple(args.traces))
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB): traces "
        f"{prov['trace_ids']}, step {prov['step_samples'][0]} samples, amplitudes "
        f"{[round(a) for a in prov['step_amplitude_pA']]} pA"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
