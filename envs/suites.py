"""Environment suites: which package provides an env, which versions run together, and fixes.

`make_env` asks this module, before and after looking an id up, whether the suite behind the id is
installed and can run with the installed MuJoCo; a missing package or a combination known to break
becomes one `UserError` line naming the env, the package and the pip command that fixes it.

What was tested (make, reset and 5 random steps of each env: dm_control cartpole-swingup and
cheetah-run, HalfCheetah-v5, FetchReach-v4 and FetchPush-v4, PointMaze_UMaze-v3, AntMaze_UMaze-v5,
Meta-World reach-v3 and push-v3, OGBench pointmaze-medium-v0 and cube-single-v0; Python 3.11,
numpy 2.4.6, gymnasium 1.4.0, gymnasium-robotics 1.4.2, shimmy 2.0.1, metaworld 3.1.1, ogbench
1.2.2; dm-control the release pip picks for that MuJoCo):

| mujoco | dm-control | DMC | Gym MuJoCo | Fetch | Point/AntMaze | Meta-World | OGBench |
| --- | --- | --- | --- | --- | --- | --- | --- |
| 3.3.0 | 1.0.28 | ok | ok | ok | ok | ok | ok |
| 3.3.3, 3.3.7 | 1.0.31, 1.0.34 | ok | ok | ok | ok | ok (pin lifted) | ok |
| 3.4.0 - 3.8.1 | 1.0.36 - 1.0.41 | ok | ok | ok | ok | ok (pin lifted) | ok |
| 3.9.0 | 1.0.41 | breaks | ok | ok | ok | ok (pin lifted) | 1.2.1 ok |
| 3.10.0, 3.11.0 | 1.0.43, 1.0.44 | ok | ok | ok | ok | ok (pin lifted) | ok |
| 3.12.0 - 3.16.0 | 1.0.45 - 1.0.49 | ok | ok | fixed here | ok | ok (pin lifted) | ok |
| 3.17.0 | 1.0.50 | ok | ok | fixed here | ok | breaks | ok |
| 4.0.1 | 1.0.52 | ok | ok | fixed here | ok | breaks | ok |

"pin lifted": Meta-World 3.1.1 requires mujoco==3.3.0, installed here with `--no-deps`.

- dm_control's bindings are generated for one MuJoCo release and read fields that other releases
  lack (e.g. dm-control 1.0.34 on mujoco 3.5, 1.0.50 on mujoco 4): `check_compatible` compares
  them with the installed MuJoCo before any env is made.
- Meta-World 3.1.1 pins mujoco==3.3.0; from mujoco 3.17 its envs fail on construction (they write
  11 equality-constraint values where MuJoCo now has 12).
- Gymnasium-Robotics 1.4.2 compares `model.jnt_type` (NumPy ints) with `mujoco.mjtJoint` members;
  from mujoco 3.12 those members no longer equal NumPy ints and the Fetch envs fail an assert.
  `apply_fixes` replaces its four joint helpers with ones that compare plain ints.
- `mujoco.mj_copyData` is bound from mujoco 3.5 only; `copy_data` does its work before that.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
from dataclasses import dataclass
from fnmatch import fnmatchcase
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from envs.errors import UserError


@dataclass(frozen=True)
class Suite:
    """A family of envs that one package provides."""

    name: str
    """Shown to users, e.g. `Meta-World`."""
    distribution: str
    """The package's name on PyPI, e.g. `metaworld`."""
    modules: tuple[str, ...]
    """Import names whose env entry points belong to this suite."""
    id_patterns: tuple[str, ...]
    """fnmatch patterns of its env ids (without a `module:` prefix)."""
    install: str
    """The pip command that installs it."""
    needs_prefix: bool = False
    """True when its ids are registered only by importing its module (`module:EnvId`)."""


DM_CONTROL = Suite(
    "DeepMind Control (through Shimmy)",
    "dm-control",
    ("dm_control", "shimmy.dm_control_compatibility"),
    ("dm_control/*",),
    "pip install dm-control 'shimmy[dm-control]'",
)
ROBOTICS = Suite(
    "Gymnasium-Robotics",
    "gymnasium-robotics",
    ("gymnasium_robotics",),
    ("Fetch*", "PointMaze_*", "AntMaze_*", "HandManipulate*", "HandReach*", "Adroit*",
     "FrankaKitchen*"),
    "pip install gymnasium-robotics",
)
GYM_MUJOCO = Suite(
    "Gymnasium MuJoCo",
    "mujoco",
    ("gymnasium.envs.mujoco",),
    (),
    "pip install 'gymnasium[mujoco]'",
)
METAWORLD = Suite(
    "Meta-World",
    "metaworld",
    ("metaworld",),
    ("Meta-World/*",),
    "pip install 'wmpc[metaworld]'",
    needs_prefix=True,
)
OGBENCH = Suite(
    "OGBench",
    "ogbench",
    ("ogbench",),
    ("pointmaze-*-v0", "antmaze-*-v0", "humanoidmaze-*-v0", "antsoccer-*-v0", "cube-*-v0",
     "scene-*-v0", "puzzle-*-v0", "visual-*-v0"),
    "pip install 'wmpc[ogbench]'",
    needs_prefix=True,
)
SUITES = (DM_CONTROL, ROBOTICS, GYM_MUJOCO, METAWORLD, OGBENCH)
"""The suites wmpc knows by name; any other `module:EnvId` works too, unchecked."""


@dataclass(frozen=True)
class KnownBreak:
    """A range of a suite's package that fails with a range of MuJoCo versions."""

    distribution: str
    versions: str
    """Specifier of the package's versions that break, e.g. `<=3.1.1`."""
    mujoco: str
    """Specifier of the MuJoCo versions they break with."""
    why: str
    fix: str


KNOWN_BREAKS = (
    KnownBreak(
        "metaworld",
        "<=3.1.1",
        ">=3.17",
        "its envs write 11 equality-constraint values where this MuJoCo has 12",
        "pip install 'mujoco==3.3.0' 'dm-control>=1.0.28' (the MuJoCo Meta-World pins; "
        "`pip install 'wmpc[metaworld]'` resolves the same)",
    ),
)
"""Combinations tested to fail (see the module docstring), checked from installed versions."""


def installed_version(distribution: str) -> str | None:
    """The installed version of a package (importlib.metadata), or None when it is missing."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def suite_for_id(env_id: str) -> Suite | None:
    """The suite an id names, from its `module:` prefix or its id pattern; None when unknown."""
    module, _, bare = env_id.rpartition(":")
    for suite in SUITES:
        if module and any(module == m or module.startswith(m + ".") for m in suite.modules):
            return suite
        if any(fnmatchcase(bare, pattern) for pattern in suite.id_patterns):
            return suite
    return None


def suite_for_entry_point(entry_point: Any) -> Suite | None:
    """The suite whose module defines a registry entry point (a string or a callable)."""
    if isinstance(entry_point, str):
        module = entry_point.split(":", 1)[0]
    else:
        module = getattr(getattr(entry_point, "func", entry_point), "__module__", None) or ""
    for suite in SUITES:
        if any(module == m or module.startswith(m + ".") for m in suite.modules):
            return suite
    return None


def versions_line(suite: Suite | None) -> str:
    """`metaworld 3.1.1, mujoco 3.17.0`: the versions that matter for a suite's envs."""
    names = [suite.distribution] if suite is not None else []
    names += [name for name in ("mujoco",) if name not in names]
    return ", ".join(f"{name} {installed_version(name) or 'not installed'}" for name in names)


def check_installed(env_id: str, suite: Suite) -> None:
    """UserError when the suite's package is not installed."""
    if installed_version(suite.distribution) is None:
        raise UserError(
            f"{env_id} needs {suite.name} (package {suite.distribution}), which is not "
            f"installed: {suite.install}"
        )


def check_compatible(env_id: str, suite: Suite) -> None:
    """UserError when the installed suite package and MuJoCo are a combination known to break."""
    package = installed_version(suite.distribution)
    mujoco = installed_version("mujoco")
    if package is None or mujoco is None:
        return
    package_v, mujoco_v = _version(package), _version(mujoco)
    for known in KNOWN_BREAKS:
        if known.distribution != suite.distribution or package_v is None or mujoco_v is None:
            continue
        if package_v in SpecifierSet(known.versions) and mujoco_v in SpecifierSet(known.mujoco):
            raise UserError(
                f"{env_id}: {suite.distribution} {package} cannot run with mujoco {mujoco} "
                f"({known.why}); fix: {known.fix}"
            )
    if suite is DM_CONTROL:
        _check_dm_control_bindings(env_id, package, mujoco)


def _dm_control_sizes_file() -> Path | None:
    spec = importlib.util.find_spec("dm_control")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "mujoco/wrapper/mjbindings/sizes.py"
    return path if path.is_file() else None


def _header_version(code: int) -> str:
    """dm_control's `MuJoCo header version` number as a release: 330 -> 3.3.0, 3017000 -> 3.17.0."""
    if code < 1000:
        return ".".join(str(code))
    return f"{code // 1_000_000}.{code // 1000 % 1000}.{code % 1000}"


@functools.cache
def dm_control_bindings() -> tuple[str, dict[str, tuple[str, ...]]] | None:
    """(MuJoCo release dm_control's bindings were generated for, {struct: field names}), or None.

    Read from dm_control's generated `mjbindings/sizes.py` without importing dm_control.
    """
    path = _dm_control_sizes_file()
    if path is None:
        return None
    text = path.read_text()
    header = None
    for line in text.splitlines()[:10]:
        if "MuJoCo header version:" in line:
            with contextlib.suppress(ValueError):
                header = _header_version(int(line.rsplit(":", 1)[1]))
    namespace: dict[str, Any] = {}
    try:
        exec(compile(text, str(path), "exec"), namespace)  # generated data: one dict literal
        sizes = namespace["array_sizes"]
        fields = {struct: tuple(sizes[struct]) for struct in ("mjmodel", "mjdata")}
    except Exception:  # an unexpected layout: skip the check, let make_env try
        return None
    return header or "unknown", fields


def missing_mujoco_fields(fields: dict[str, tuple[str, ...]]) -> list[str]:
    """The MjModel/MjData fields named in `fields` that the installed MuJoCo lacks."""
    import mujoco

    structs = {"mjmodel": mujoco.MjModel, "mjdata": mujoco.MjData}
    return [
        f"{struct[2:].capitalize()}.{name}"
        for struct, names in fields.items()
        for name in names
        if not hasattr(structs[struct], name)
    ]


def _check_dm_control_bindings(env_id: str, dm_control: str, mujoco: str) -> None:
    bindings = dm_control_bindings()
    if bindings is None:
        return
    header, fields = bindings
    if header != "unknown" and _version(header) == _version(mujoco):
        return
    missing = missing_mujoco_fields(fields)
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise UserError(
            f"{env_id}: dm-control {dm_control} was built for mujoco {header} and cannot run with "
            f"mujoco {mujoco} (no {shown}); fix: pip install 'mujoco=={header}', or install the "
            f"dm-control release made for mujoco {mujoco}"
        )


def unknown_id_hint(env_id: str) -> str | None:
    """A hint for an id the registry does not know but a suite's pattern matches, else None."""
    suite = suite_for_id(env_id)
    if suite is None:
        return None
    if installed_version(suite.distribution) is None:
        return f"{env_id} needs {suite.name} (package {suite.distribution}): {suite.install}"
    if suite.needs_prefix and ":" not in env_id:
        return f"{suite.name} ids are registered by importing it: {suite.modules[0]}:{env_id}"
    return None


def apply_fixes(suite: Suite | None) -> None:
    """Compatibility fixes the installed versions need before a suite's env is made."""
    if suite is ROBOTICS and not robotics_joint_types_work():
        patch_robotics_joint_helpers()


def robotics_joint_types_work() -> bool:
    """True when `mujoco.mjtJoint` members compare equal to NumPy ints (mujoco < 3.12)."""
    import mujoco
    import numpy as np

    hinge = mujoco.mjtJoint.mjJNT_HINGE
    return np.int32(int(hinge)) in (hinge,)


def _joint_slice(model: Any, name: str, velocity: bool) -> slice:
    """The qpos (or qvel) slice of a named joint, comparing joint types as plain ints."""
    import mujoco

    joint_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
    assert joint_id != -1, f"Joint with name '{name}' is not part of the model!"
    joint_type = int(model.jnt_type[joint_id])
    if joint_type == int(mujoco.mjtJoint.mjJNT_FREE):
        ndim = 6 if velocity else 7
    elif joint_type == int(mujoco.mjtJoint.mjJNT_BALL):
        ndim = 3 if velocity else 4
    else:
        assert joint_type in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
        ndim = 1
    start = int(model.jnt_dofadr[joint_id] if velocity else model.jnt_qposadr[joint_id])
    return slice(start, start + ndim)


def _set_joint(array: Any, where: slice, name: str, value: Any) -> None:
    import numpy as np

    value = np.array(value)
    size = where.stop - where.start
    if size > 1:
        assert value.shape == (size,), f"Value has incorrect shape {name}: {value}"
    array[where] = value


def _set_joint_qpos(model: Any, data: Any, name: str, value: Any) -> None:
    _set_joint(data.qpos, _joint_slice(model, name, velocity=False), name, value)


def _set_joint_qvel(model: Any, data: Any, name: str, value: Any) -> None:
    _set_joint(data.qvel, _joint_slice(model, name, velocity=True), name, value)


def _get_joint_qpos(model: Any, data: Any, name: str) -> Any:
    return data.qpos[_joint_slice(model, name, velocity=False)].copy()


def _get_joint_qvel(model: Any, data: Any, name: str) -> Any:
    return data.qvel[_joint_slice(model, name, velocity=True)].copy()


def patch_robotics_joint_helpers() -> None:
    """Replace Gymnasium-Robotics' four joint helpers with int-comparing ones (idempotent).

    Its Fetch and Hand envs call them through the module (`self._utils.set_joint_qpos`), so
    replacing the module's attributes reaches every env made afterwards.
    """
    from gymnasium_robotics.utils import mujoco_utils

    mujoco_utils.set_joint_qpos = _set_joint_qpos
    mujoco_utils.set_joint_qvel = _set_joint_qvel
    mujoco_utils.get_joint_qpos = _get_joint_qpos
    mujoco_utils.get_joint_qvel = _get_joint_qvel


def copy_data(dst: Any, model: Any, src: Any) -> None:
    """`mujoco.mj_copyData(dst, model, src)` on every MuJoCo of the supported range.

    The binding exists from mujoco 3.5; before it (3.3-3.4: Meta-World's pin is 3.3.0) the
    integration state (time, qpos, qvel, act, warm start, controls, applied forces, mocap poses)
    is copied and `mj_forward` recomputes the derived quantities, so the next step of `dst`
    matches that of `src` (checked bit for bit on mujoco 3.3.0 and 3.17.0, Gymnasium and
    dm_control envs). The state is set again after `mj_forward`: before 3.5 it overwrites the
    warm start.
    """
    import mujoco

    if hasattr(mujoco, "mj_copyData"):
        mujoco.mj_copyData(dst, model, src)
    else:
        _copy_data_by_state(dst, model, src)


def _copy_data_by_state(dst: Any, model: Any, src: Any) -> None:
    import mujoco
    import numpy as np

    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    state = np.empty(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, src, state, spec)
    mujoco.mj_setState(model, dst, state, spec)
    mujoco.mj_forward(model, dst)
    mujoco.mj_setState(model, dst, state, spec)
