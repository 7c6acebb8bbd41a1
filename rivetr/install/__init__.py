"""Installing Rivetr as a system service (`rivetr install`): the steps, the machine they act on,
and the systemd unit they write, shipped with the package so an installed `rivetr` has them."""
