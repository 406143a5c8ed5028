"""Build riskmodel's compiled chain kernel; everything else about the package is in pyproject.toml.

The extension (`riskmodel/simulation/_chains_c.pyx`) calls numpy's own binomial sampler, which
numpy ships as the static library ``npyrandom`` for this purpose ("Extending numpy.random" in
numpy's documentation). Its build is optional: without a C compiler the install still succeeds,
and the engine uses its numpy code (the same numbers, slower; `riskmodel.simulation.compiled`).
"""

import hashlib
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

NUMPY_RANDOM_LIB = Path(np.__file__).parent / "random" / "lib"
SOURCE = Path("riskmodel/simulation/_chains_c.pyx")
# the built module knows its source's hash: riskmodel.simulation.compiled refuses a stale build
SOURCE_SHA256 = hashlib.sha256(SOURCE.read_bytes()).hexdigest()

chains = Extension(
    "riskmodel.simulation._chains_c",
    [str(SOURCE)],
    include_dirs=[np.get_include()],
    library_dirs=[str(NUMPY_RANDOM_LIB)],
    libraries=["npyrandom"],
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
        ("CHAINS_SOURCE_SHA256", f'"{SOURCE_SHA256}"'),
    ],
    # the LGD's float operations must round as numpy's do: no fused multiply-adds
    extra_compile_args=["-ffp-contract=off"],
    optional=True,
)

setup(ext_modules=cythonize([chains], compiler_directives={"language_level": "3"}))
