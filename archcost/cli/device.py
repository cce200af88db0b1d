"""The roofline device options ``analyze`` and ``profile`` share."""

from __future__ import annotations

import argparse
from typing import Any


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--device-file``, ``--peak`` and ``--bandwidth`` (shared with ``analyze``)."""
    group = parser.add_argument_group("roofline device")
    group.add_argument("--device", metavar="NAME",
                       help="a device preset (archcost/data/devices.yaml) or a name in --device-file")
    group.add_argument("--device-file", metavar="PATH",
                       help="a device file, e.g. one written by `archcost profile --calibrate`")
    group.add_argument("--peak", metavar="MAC/S",
                       help="peak multiply-accumulates per second, e.g. 48G or 4.8e10")
    group.add_argument("--bandwidth", metavar="B/S",
                       help="memory bandwidth in bytes per second, e.g. 51.2G")


def device_from_args(args: argparse.Namespace, default: str | None = None) -> Any:
    """The :class:`~archcost.cost.roofline.Device` the flags describe, or ``None``."""
    from archcost.cost.roofline import resolve_device

    return resolve_device(args.device, device_file=args.device_file, peak=args.peak,
                          bandwidth=args.bandwidth, default=default)
