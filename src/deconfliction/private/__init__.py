"""Private mode: two parties find the space-time cells their plans share by private set
intersection, through a relay that sees only padded, encrypted messages
(docs/private-mode.md).

Pure values and computations only, no I/O: :mod:`.cells` turns a party's own volumes into
the set of grid cells the protocol compares, :mod:`.psi` is the group arithmetic
(ristretto255 through libsodium), :mod:`.channel` the authenticated, ordered channel
between the two agents, and :mod:`.protocol` the round each agent runs. The relay's
storage is in ``store.relay``, the use-cases in ``service.private``, the HTTP edge in
``api.private`` and the commands in ``cli.private``.
"""
