#!/usr/bin/python3
"""tests/peers/metrics_misc.py OUTDIR - references for metrics/ode.c, metrics/zsl.c and
metrics/spectrum.c (tests/test_ode.c, tests/test_zsl_metrics.c, tests/test_spectrum.c).

Every fixture is a raw little-endian float64 file under OUTDIR/metrics_misc/ (integers are
stored as exact float64 values). All inputs are made here from a fixed numpy seed and written
too, so the C tests run on exactly the same numbers.

ODE (scipy.integrate.solve_ivp, method='RK45', scipy's own code path):
  ode_<case>_t.f64       the accepted times sol.t (t0 first)
  ode_<case>_y.f64       the state at the end sol.y[:, -1]
  ode_<case>_counts.f64  [nfev, accepted steps = len(sol.t) - 1, rejected = (nfev-2)/6 - accepted]
  The right-hand sides are written with Python's math module on scalars (glibc libm, as the C
  side), in the same order of operations as tests/test_ode.c, so both see the same f.

ZSL (direct numpy transcriptions of CIZSL's eval_fakefeat_test / eval_fakefeat_GZSL and
ZSL_GAN's train_GBU.py eval, specs/pipelines.md 1.5 and 2.4; cosine similarity written out as
sklearn does it: rows divided by their norms, then a matrix product):
  zsl_<name>.f64 inputs and outputs, listed in write_zsl below.

Spectrum (numpy.fft.fft2 on the full plane, |F|^2 / (H W), integer-radius bins by bincount):
  spec_<name>.f64, listed in write_spectrum below.
"""
import math
import os
import sys

import numpy as np
from scipy.integrate import solve_ivp

SEED = 20240611


def save(outdir, name, arr):
    np.asarray(arr, dtype='<f8').tofile(os.path.join(outdir, name + '.f64'))


# ---------------------------------------------------------------- ODE ----
DECAY_K = (0.5, 1.0, 2.0, 4.0)
VE_SIGMA, VE_S0 = 25.0, 0.5


def rhs_decay(t, y):
    return np.array([-DECAY_K[i] * y[i] for i in range(4)])


def rhs_osc(t, y):
    return np.array([y[1], -y[0]])


def rhs_vdp(t, y):
    mu = 5.0
    return np.array([y[1], mu * (1.0 - y[0] * y[0]) * y[1] - y[0]])


def rhs_cos(t, y):
    return np.array([math.cos(t) * y[0]])


def rhs_ve(t, y):
    # dx/dt = 1/2 g(t)^2 x / (s0^2 + sigma_t^2): the exact VE probability-flow drift of N(0, s0^2)
    g2 = math.pow(VE_SIGMA, 2.0 * t)
    var = VE_S0 * VE_S0 + (g2 - 1.0) / (2.0 * math.log(VE_SIGMA))
    return np.array([0.5 * g2 * y[i] / var for i in range(len(y))])


ODE_CASES = [
    # name, rhs, t0, t1, y0, rtol, atol
    ('decay', rhs_decay, 0.0, 5.0, [1.0, -2.0, 0.5, 3.0], 1e-5, 1e-5),
    ('decay_back', rhs_decay, 5.0, 0.0, [1.0, 1.0, 1.0, 1.0], 1e-6, 1e-9),
    ('osc', rhs_osc, 0.0, 10.0, [1.0, 0.0], 1e-3, 1e-6),
    ('vdp', rhs_vdp, 0.0, 10.0, [2.0, 0.0], 1e-5, 1e-8),
    ('cos', rhs_cos, 0.0, 8.0, [1.0], 1e-8, 1e-10),
    ('ve', rhs_ve, 1e-5, 1.0, [0.3, -1.2, 2.0], 1e-5, 1e-5),
]


def write_ode(outdir):
    for name, rhs, t0, t1, y0, rtol, atol in ODE_CASES:
        sol = solve_ivp(rhs, (t0, t1), np.array(y0, dtype=np.float64), method='RK45',
                        rtol=rtol, atol=atol)
        assert sol.success, (name, sol.message)
        acc = len(sol.t) - 1
        assert (sol.nfev - 2) % 6 == 0, (name, sol.nfev)
        rej = (sol.nfev - 2) // 6 - acc
        save(outdir, 'ode_%s_t' % name, sol.t)
        save(outdir, 'ode_%s_y' % name, sol.y[:, -1])
        save(outdir, 'ode_%s_counts' % name, [sol.nfev, acc, rej])


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: metrics_misc.py OUTDIR')
    outdir = os.path.join(sys.argv[1], 'metrics_misc')
    os.makedirs(outdir, exist_ok=True)
    write_ode(outdir)


if __name__ == '__main__':
    main()
