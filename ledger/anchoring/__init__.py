"""Anchoring checkpoints on Ethereum: the contract client (the only web3 importer), its results and the worker."""
