"""How many pre-heated kernels each lesson keeps (Voila's kernel pools).

A pre-heated kernel has already run its lesson, so a visitor's page is live at once; the
pool refills in the background. ``catdogkit serve`` keeps :data:`DEFAULT_PREHEAT` per
lesson on a machine with the memory for it, ``--preheat N`` another number, and
``--preheat-lesson 07=20`` a pool of its own for the lesson a class opens together.

Introduced in lesson 00 (the lessons as web pages).
"""
import json
import os
from pathlib import Path

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _

#: Pre-heated kernels (Voila's kernel pools, which have already run the lesson) per lesson
#: by default: a visitor gets a page whose widgets are live at once instead of waiting
#: 4-14 s while the lesson runs; the pool refills in the background. Each kernel holds
#: 0.4-0.7 GB, so only a machine with :data:`PREHEAT_MIN_MEMORY_GB` gets them by default.
DEFAULT_PREHEAT = 1
PREHEAT_MIN_MEMORY_GB = 16


def memory_gb():
    """This machine's memory in GB (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (AttributeError, ValueError, OSError):  # e.g. Windows
        return 0


def default_preheat():
    """:data:`DEFAULT_PREHEAT` on a machine with at least :data:`PREHEAT_MIN_MEMORY_GB` of
    memory, else 0: a student's 8 GB laptop must not fill up with waiting kernels."""
    return DEFAULT_PREHEAT if memory_gb() >= PREHEAT_MIN_MEMORY_GB else 0


def lesson_pools(lessons_dir, requests):
    """``{notebook file: kernels}`` from ``--preheat-lesson`` values such as ``07=20``.

    A lesson is named by its file name or any unique beginning of it (``07``,
    ``07_improved_model``); raises :class:`CatDogKitError` naming the value and the
    lessons when it is malformed, matches no lesson or more than one.
    """
    names = [path.name for path in sorted(Path(lessons_dir).glob("*.ipynb"))]
    pools = {}
    for request in requests:
        lesson, _sep, count = str(request).partition("=")
        lesson = lesson.strip()
        if not lesson or not count.strip().isdigit():
            raise CatDogKitError(_("--preheat-lesson {value}: give LESSON=KERNELS, e.g. --preheat-lesson "
                                   "07=20 (a whole number, 0 or more).").format(value=request))
        matches = [name for name in names if name.startswith(lesson)]
        if len(matches) != 1:
            raise CatDogKitError(_("--preheat-lesson {value}: {lesson!r} names {n} lessons of {folder}; name "
                                   "one of: {names}.").format(value=request, lesson=lesson, n=len(matches),
                                                              folder=lessons_dir, names=", ".join(names)))
        pools[matches[0]] = int(count)
    return pools


def voila_options(preheat, pools=None, denied=()):
    """Voila's command-line options for ``preheat`` kernels per lesson, the lessons of
    ``pools`` (``{notebook file: kernels}``) with their own sizes, and none in the folders
    ``denied`` (the translated lessons: a kernel holds 0.4-0.7 GB, and their pages still
    open in seconds from the view cache). No options when no pool is asked for."""
    pools = dict(pools or {})
    if preheat <= 0 and not any(pools.values()):
        return []
    options = ["--VoilaConfiguration.preheat_kernel=True",
               f"--VoilaConfiguration.default_pool_size={int(preheat)}",
               # a kernel handed out of the pool must not be culled before its page connects
               "--VoilaConfiguration.multi_kernel_manager_class="
               "catdogkit.voila_kernels.HandoverKernelManager"]
    if pools:  # a dict of dicts, which only a literal on the command line can give
        sizes = {"default": {"pool_size": int(preheat)},
                 **{name: {"pool_size": int(n)} for name, n in pools.items()}}
        options.append(f"--VoilaKernelManager.kernel_pools_config={json.dumps(sizes)}")
    return options + [f"--VoilaKernelManager.preheat_denylist={folder}/" for folder in denied]
