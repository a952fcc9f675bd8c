"""Pixel observations: each agent decision rendered from a camera, a short frame stack, uint8.

`make_env(..., obs="pixels")` asks the env to render `rgb_array` frames of `image_size` pixels
(`render_kwargs` says how each family takes the size and camera) and wraps it in
`PixelObservation`. Observations are flat uint8 vectors (stack * 3 * size * size,) holding the
frames oldest first, each channel-first (3, size, size); `image_shape` gives (3 * stack, size,
size), the shape the model's convolutional encoder reads. `obs="pixels+state"` keeps the env's
flat state after the frames as the bytes of its float32 values (4 per value), so a replay or a
dataset of such rows stays one uint8 array; `decode_state` reads them back.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from envs.errors import UserError

OBS_MODES = ("state", "pixels", "pixels+state")
"""What an agent observes: the env's flat state vector, rendered frames, or both."""


def decode_state(obs: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """The float32 state (..., S) that `pixels+state` rows (..., C * H * W + 4 S) carry after
    their frames; (..., 0) for pixel rows without one."""
    tail = np.ascontiguousarray(np.asarray(obs, np.uint8)[..., int(np.prod(image_shape)):])
    return tail.view(np.float32)


def render_kwargs(spec: gym.envs.registration.EnvSpec, size: int,
                  camera: int | str | None) -> dict[str, Any]:
    """Keyword arguments that make the env of `spec` render `size` x `size` rgb frames.

    dm_control through Shimmy takes `render_kwargs`; Gymnasium's MuJoCo envs (and
    Gymnasium-Robotics') take `width`, `height` and `camera_id` or `camera_name`; any other env
    gets `render_mode` only and its frames are resized.
    """
    kwargs: dict[str, Any] = {"render_mode": "rgb_array"}
    entry = spec.entry_point
    module = entry if isinstance(entry, str) else getattr(entry, "__module__", "") or ""
    if spec.id.startswith("dm_control/"):
        kwargs["render_kwargs"] = {"width": size, "height": size,
                                   "camera_id": 0 if camera is None else camera}
    elif module.startswith(("gymnasium.envs.mujoco", "gymnasium_robotics")):
        kwargs.update(width=size, height=size)
        if isinstance(camera, int):
            kwargs["camera_id"] = camera
        elif isinstance(camera, str):
            kwargs["camera_name"] = camera
    return kwargs


MAX_IMAGE_SIZE = 1024
"""Largest image side: a frame stack of 1024 x 1024 is already 9 MB a decision."""
MAX_FRAME_STACK = 16


def _integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_pixel_settings(size: Any, stack: Any, camera: Any, render_mode: Any) -> None:
    """UserError unless the image size, frame stack, camera and a render mode given by the user
    can make pixel observations."""
    if not _integer(size) or not 8 <= size <= MAX_IMAGE_SIZE:
        raise UserError(f"image_size must be an integer from 8 to {MAX_IMAGE_SIZE}, got {size!r}")
    if not _integer(stack) or not 1 <= stack <= MAX_FRAME_STACK:
        raise UserError(f"frame_stack must be an integer from 1 to {MAX_FRAME_STACK}, got "
                        f"{stack!r}")
    if camera is not None and not (_integer(camera) or isinstance(camera, str)):
        raise UserError(f"camera must be a camera's index or name, got {camera!r}")
    if render_mode not in (None, "rgb_array"):
        raise UserError(f"pixel observations render rgb_array frames; render_mode "
                        f"{render_mode!r} cannot be used with them")


def check_camera(env: gym.Env, env_id: str, camera: int | str | None) -> None:
    """UserError when a MuJoCo env (Gymnasium's, Gymnasium-Robotics') has no such camera
    (MuJoCo would stop the process); dm_control checks its own."""
    model = getattr(env.unwrapped, "model", None)
    if camera is None or not hasattr(model, "ncam"):
        return
    import mujoco

    if isinstance(camera, str):
        found = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera) >= 0
    else:
        found = -1 <= camera < model.ncam
    if not found:
        names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
        raise UserError(f"{env_id} has no camera {camera!r}; it has {model.ncam} "
                        f"({', '.join(map(str, names)) or 'none named'}; -1 is the free camera)")


def resize(frame: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8 by picking the nearest pixel (no smoothing)."""
    rows = (np.arange(size) * frame.shape[0]) // size
    cols = (np.arange(size) * frame.shape[1]) // size
    return frame[rows][:, cols]


class PixelObservation(gym.Wrapper):
    """The env's observation replaced by its last `stack` rendered frames, flat uint8; with
    `state`, the env's flat float32 state follows as its bytes (`decode_state`).

    After a reset the stack holds copies of the first frame. A render that fails, or that is not
    an (H, W, 3) uint8-range image, raises `UserError` naming the env, and so does a state that
    is not finite.
    """

    def __init__(self, env: gym.Env, size: int, stack: int, state: bool = False):
        super().__init__(env)
        check_pixel_settings(size, stack, None, None)
        self.size, self.stack = int(size), int(stack)
        self.image_shape = (3 * stack, size, size)
        """(channels, height, width) of one observation as the encoder reads it."""
        size_flat = int(np.prod(self.image_shape))
        self.state_dim = int(env.observation_space.shape[0]) if state else 0
        """Values of the env's state kept after the frames (0: pixels only)."""
        self.obs_layout = {"pixels": slice(0, size_flat)}
        """Where the frames lie in the flat observation, and the state's bytes when kept."""
        if state:
            self.obs_layout["state"] = slice(size_flat, size_flat + 4 * self.state_dim)
        self._frames: deque[np.ndarray] = deque(maxlen=stack)
        self.observation_space = gym.spaces.Box(0, 255, (size_flat + 4 * self.state_dim,),
                                                np.uint8)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        state, info = self.env.reset(**kwargs)
        frame = self.frame()
        self._frames.extend([frame] * self.stack)
        return self._observation(state), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        state, reward, terminated, truncated, info = self.env.step(action)
        self._frames.append(self.frame())
        return self._observation(state), reward, terminated, truncated, info

    def frame(self) -> np.ndarray:
        """The env's current view, (3, size, size) uint8."""
        try:
            image = self.env.render()
        except Exception as err:
            detail = " ".join(str(err).split())[:300]
            raise UserError(f"{self.env.unwrapped} cannot render an rgb_array frame for pixel "
                            f"observations: {type(err).__name__}: {detail}") from err
        image = np.asarray(image) if image is not None else None
        if image is None or image.ndim != 3 or image.shape[2] != 3:
            shape = None if image is None else image.shape
            raise UserError(f"{self.env.unwrapped} rendered {shape} for pixel observations; "
                            "they need (height, width, 3) rgb frames")
        if image.dtype != np.uint8:
            if not np.isfinite(image).all():
                raise UserError(f"{self.env.unwrapped} rendered a frame with NaN or infinite "
                                "values")
            image = np.clip(image, 0, 255).astype(np.uint8)
        if image.shape[:2] != (self.size, self.size):
            image = resize(image, self.size)
        return np.ascontiguousarray(image.transpose(2, 0, 1))

    def _observation(self, state: np.ndarray) -> np.ndarray:
        parts = [f.ravel() for f in self._frames]
        if self.state_dim:
            values = np.asarray(state, np.float32).reshape(-1)
            if not np.isfinite(values).all():
                raise UserError(f"{self.env.unwrapped} returned a state with NaN or infinite "
                                "values")
            parts.append(values.view(np.uint8))
        return np.concatenate(parts)
