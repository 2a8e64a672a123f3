# SPDX-License-Identifier: MIT
"""Builds the simd_r_drive extension for pip (see pyproject.toml).

The C sources are the ones CMake builds (python/*.c); they use only the
public API (srd/srd.h), so the extension links the installed shared
libsrdclient, found with `pkg-config srdclient`. Set PKG_CONFIG_PATH to use
one installed under another prefix: the library directory is then also
written into the extension's RUNPATH, so it loads without LD_LIBRARY_PATH.
"""
import glob
import os
import shlex
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup

_ARCH = sysconfig.get_config_var("MULTIARCH") or ""
SYSTEM_LIBDIRS = {os.path.join(d, a) for d in ("/usr/lib", "/lib")
                  for a in ("", _ARCH)} | {"/usr/lib64", "/lib64"}


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "srdclient"], check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("setup.py: pkg-config not found (apt-get install pkg-config)")
    except subprocess.CalledProcessError as exc:
        sys.exit("setup.py: pkg-config cannot find srdclient: install "
                 "libsrdclient-dev, or set PKG_CONFIG_PATH to the folder of "
                 "an installed srdclient.pc\n" + exc.stderr)
    return out.strip()


def flags(prefix, text):
    return [f[len(prefix):] for f in shlex.split(text) if f.startswith(prefix)]


def extension():
    version = pkg_config("--modversion")
    libdirs = flags("-L", pkg_config("--libs-only-L"))
    private = [d for d in libdirs
               if os.path.realpath(d).rstrip("/") not in SYSTEM_LIBDIRS]
    return version, Extension(
        "simd_r_drive.simd_r_drive",
        sources=sorted(glob.glob("*.c")),  # every python/*.c, as CMake builds
        include_dirs=flags("-I", pkg_config("--cflags-only-I")),
        library_dirs=libdirs,
        libraries=flags("-l", pkg_config("--libs-only-l")) + ["z"],
        runtime_library_dirs=private,
        define_macros=[("PYSRD_VERSION", '"%s"' % version)],
        extra_compile_args=["-std=c11", "-fvisibility=hidden"],
    )


HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(HERE)
VERSION, EXT = extension()
setup(version=VERSION, ext_modules=[EXT],
      package_dir={"simd_r_drive": "simd_r_drive"})
