"""The `wmpc` subcommands, one module each; shared argument checks here."""


def check_device(device: str) -> None:
    """One clear line (exit 2) for a `--device` torch cannot use here."""
    import torch

    from world_model.errors import user_error

    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise user_error(f"--device {device!r} is not a torch device") from err
    if dev.type not in ("cpu", "cuda"):
        raise user_error(f"--device {device}: wmpc runs on cpu or cuda[:N]")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise user_error(f"--device {device}: CUDA is not available on this machine")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise user_error(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA "
                         "device(s)")
