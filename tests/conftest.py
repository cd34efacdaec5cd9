"""Suite-wide: the in-process synths start Node through jsii; keep its end-of-life banner out of the log."""

from stacks.node_banner import silence_node_banner

silence_node_banner()
