# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The exact cohorts' binomial chains of one period, compiled; bit-identical to the numpy code.

`riskmodel.simulation.chains.draw_exact` draws a period's defaults and moves with numpy array
calls (``Generator.binomial``) and adds the moves into their destinations with fancy indexing.
This module does the same in one C loop per phase, calling the very function numpy's
``Generator.binomial`` calls per element (``random_binomial`` of numpy's ``npyrandom`` library)
on the block generator's own bit generator, under the generator's lock. The draws come in the
same order (defaults of every path and column, path-major; then each chain step in turn), with
the same parameters, and a draw is skipped exactly when the numpy code skips it (``n = 0`` or
``p = 0``, a structurally zero probability, or ``p = 1``, whose outcome is certain), so every
variate and the generator's state afterwards are the same as the numpy code's. Integer counts
are added, so their order does not matter either.

What it saves: numpy's per-element broadcasting of the array call (about 6 ns a draw here), and
the temporaries and fancy-index adds of the bookkeeping around the draws.

`riskmodel.simulation.compiled` loads this module, checks its binomials against the installed
numpy's before first use, and falls back to the numpy code if the module is missing or differs.
"""

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int64_t
from numpy.random cimport bitgen_t
from libc.math cimport sqrt
from numpy.random.c_distributions cimport binomial_t, random_beta, random_binomial

cdef extern from *:
    """
    #ifndef CHAINS_SOURCE_SHA256
    #define CHAINS_SOURCE_SHA256 ""
    #endif
    """
    const char *CHAINS_SOURCE_SHA256

SOURCE_SHA256 = (<bytes> CHAINS_SOURCE_SHA256).decode()
"""SHA-256 of this file as built (setup.py), so that a build older than its source is noticed."""

_BAD_P = "p < 0, p > 1 or p contains NaNs"  # numpy's message for arrays
_BAD_AB = "a <= 0 or b <= 0: a Beta LGD needs positive parameters"


cdef bitgen_t *_bitgen(gen) except NULL:
    """The bit generator struct of numpy Generator `gen` (the one its own draws use)."""
    return <bitgen_t *> PyCapsule_GetPointer(gen.bit_generator.capsule, "BitGenerator")


cdef inline int64_t _draw(bitgen_t *rng, double p, int64_t m, binomial_t *cache) noexcept nogil:
    """``Binomial(m, p)`` for ``m > 0``: ``m`` without a draw for ``p = 1``, -1 for an invalid p."""
    if p >= 0.0 and p < 1.0:
        return random_binomial(rng, p, m, cache)
    if p == 1.0:  # certain: no random number consumed
        return m
    return -1


def binomials(gen, const int64_t[::1] n, const double[::1] p, int64_t[::1] out):
    """Draw ``out[i] ~ Binomial(n[i], p[i])`` from `gen`, as ``gen.binomial(n, p)`` would."""
    cdef bitgen_t *rng = _bitgen(gen)
    cdef binomial_t cache
    cdef Py_ssize_t i, m = n.shape[0]
    cdef bint bad = False
    if p.shape[0] != m or out.shape[0] != m:
        raise ValueError("n, p and out must have the same length")
    cache.has_binomial = 0
    with gen.bit_generator.lock, nogil:
        for i in range(m):
            if not (p[i] >= 0.0 and p[i] <= 1.0) or n[i] < 0:
                bad = True
                break
            out[i] = random_binomial(rng, p[i], n[i], &cache)
    if bad:
        raise ValueError(_BAD_P)


def draw_chains(
    gen,
    const int64_t[:, ::1] cnt,
    const double[:, ::1] pd,
    const double[:, :, ::1] seq,
    const Py_ssize_t[::1] sr,
    const unsigned char[::1] default_drawn,
    const unsigned char[:, ::1] step_drawn,
    const Py_ssize_t[:, ::1] step_target,
    const Py_ssize_t[::1] stay_target,
    const Py_ssize_t[::1] owner,
    int64_t[:, ::1] rem,
    int64_t[:, ::1] defaults,
    int64_t[:, ::1] into,
):
    """One period of the exact columns; see `riskmodel.simulation.chains.draw_exact`.

    Parameters
    ----------
    gen : numpy.random.Generator
        The block's generator; its bit generator is advanced exactly as numpy's calls would.
    cnt : (n, C) customers of each path and column.
    pd : (n or 1, S·Kt) conditional default probability of each (segment, origin).
    seq : (n or 1, S·Kt, J) chain-step probabilities of the survivors.
    sr : (C,) (segment, origin) of each column.
    default_drawn, step_drawn : (C,), (J, C) the probability is not 0 in every parameter draw.
    step_target, stay_target : (J, C), (C,) flat (cohort, state) destination of each move.
    owner : (C,) exact cohort of each column.
    rem : (n, C) work array (overwritten).
    defaults : (n, Ce) zeros; receives the defaults per path and cohort.
    into : (n, Ce·K) zeros; receives the customers moved into each (cohort, state).
    """
    cdef bitgen_t *rng = _bitgen(gen)
    cdef binomial_t cache
    cdef Py_ssize_t n = cnt.shape[0], n_cols = cnt.shape[1], n_steps = step_drawn.shape[0]
    cdef Py_ssize_t i, c, s, ip, iq
    cdef int64_t m, x
    cdef bint pd_per_path = pd.shape[0] > 1, seq_per_path = seq.shape[0] > 1, bad = False
    if (
        rem.shape[0] != n or rem.shape[1] != n_cols or defaults.shape[0] != n
        or into.shape[0] != n or sr.shape[0] != n_cols or step_drawn.shape[1] != n_cols
        or step_target.shape[0] != n_steps or (n_steps > 0 and seq.shape[2] < n_steps)
    ):
        raise ValueError("draw_chains: inconsistent array shapes")
    cache.has_binomial = 0
    with gen.bit_generator.lock, nogil:
        for i in range(n):  # defaults, path-major, as numpy draws an (n, C) array
            ip = i if pd_per_path else 0
            for c in range(n_cols):
                m = cnt[i, c]
                x = 0
                if m > 0 and default_drawn[c]:
                    x = _draw(rng, pd[ip, sr[c]], m, &cache)
                    if x < 0:
                        bad = True
                        break
                    defaults[i, owner[c]] += x
                rem[i, c] = m - x
            if bad:
                break
        for s in range(n_steps if not bad else 0):  # the chain's steps one after the other
            for i in range(n):
                iq = i if seq_per_path else 0
                for c in range(n_cols):
                    m = rem[i, c]
                    if m > 0 and step_drawn[s, c]:
                        x = _draw(rng, seq[iq, sr[c], s], m, &cache)
                        if x < 0:
                            bad = True
                            break
                        rem[i, c] = m - x
                        into[i, step_target[s, c]] += x
                if bad:
                    break
            if bad:
                break
        if not bad:
            for i in range(n):  # the stay destination takes the remainder
                for c in range(n_cols):
                    into[i, stay_target[c]] += rem[i, c]
    if bad:
        raise ValueError(_BAD_P)


def lgd_betas(
    gen,
    const double[:, ::1] d,
    const double[:, ::1] mean,
    double lgd_sd,
    double fixed_kappa_plus_one,
    bint downturn,
    double[:, ::1] out,
):
    """The LGD of each path and cohort of a period; see `riskmodel.simulation.kernel._lgd`.

    ``out[i, c]`` is the mean LGD ``mean[i, c]`` (rows and columns of `mean` broadcast when it
    has one), or, where defaults ``d[i, c] > 0`` fall, the mean over them drawn as
    ``Beta(m κ_D, (1 − m) κ_D)`` with ``κ_D = max(D, 1)(κ + 1) − 1``. With `downturn` the
    concentration follows from the mean of each element, its sd clipped to ``0.99 √(m (1 − m))``
    and no Beta where ``m (1 − m) = 0``; otherwise ``κ + 1`` is `fixed_kappa_plus_one`. The
    same float operations as the numpy code in the same order, and the Betas drawn in row-major
    order by ``random_beta``, the function ``Generator.beta`` calls: the same numbers.
    """
    cdef bitgen_t *rng = _bitgen(gen)
    cdef Py_ssize_t n = d.shape[0], n_cols = d.shape[1], i, c, mi, mc
    cdef bint mean_rows = mean.shape[0] > 1, mean_cols = mean.shape[1] > 1, bad = False
    cdef double m, var, sd, clip, one_kappa, kd, a, b
    if out.shape[0] != n or out.shape[1] != n_cols or mean.shape[0] not in (1, n) or (
        mean.shape[1] not in (1, n_cols)
    ):
        raise ValueError("lgd_betas: inconsistent array shapes")
    with gen.bit_generator.lock, nogil:
        for i in range(n):
            mi = i if mean_rows else 0
            for c in range(n_cols):
                mc = c if mean_cols else 0
                m = mean[mi, mc]
                out[i, c] = m
                if not d[i, c] > 0:
                    continue
                if downturn:
                    var = m * (1.0 - m)
                    if not var > 0:
                        continue
                    clip = 0.99 * sqrt(var)
                    sd = lgd_sd if lgd_sd <= clip else clip
                    one_kappa = 1.0 + (var / (sd * sd) - 1.0)
                else:
                    one_kappa = fixed_kappa_plus_one
                kd = (d[i, c] if d[i, c] >= 1.0 else 1.0) * one_kappa - 1.0
                a = m * kd
                b = (1.0 - m) * kd
                if not (a > 0 and b > 0):
                    bad = True
                    break
                out[i, c] = random_beta(rng, a, b)
            if bad:
                break
    if bad:
        raise ValueError(_BAD_AB)
